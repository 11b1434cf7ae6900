"""``cronjobs pause|resume CODE... | run|unlock CODE``: what a person does to a job, each recorded as an action."""

from __future__ import annotations

from typing import Any

from cronjobs.management.subcommands.base import Context, Subcommand, actor, confirm
from cronjobs.management.subcommands.maintenance import every_job, maintenance_arguments, pause_all, resume_all
from cronjobs.ops import actions, overview


class _OnOneJob(Subcommand):
    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("code", metavar="CODE")


class Pause(Subcommand):
    name = "pause"
    help = "Stop running the jobs' slots until resumed; --all: maintenance mode."

    def add_arguments(self, parser: Any) -> None:
        maintenance_arguments(parser)

    def handle(self, context: Context, *, codes: list[str], every: bool, **options: Any) -> None:
        if every_job(codes, every):
            return pause_all(context)
        for job in [context.job(code) for code in dict.fromkeys(codes)]:  # all known before any acts
            if actions.pause(job, actor(), context.now):
                context.stdout.write(
                    f"{job.get_code()}: paused. Resume with `manage.py cronjobs resume {job.get_code()}`."
                )
            else:
                context.stdout.write(f"{job.get_code()}: already paused.")


class Resume(Subcommand):
    name = "resume"
    help = "Run the jobs again from now on (slots missed while paused are skipped); --all: end maintenance mode."

    def add_arguments(self, parser: Any) -> None:
        maintenance_arguments(parser)

    def handle(self, context: Context, *, codes: list[str], every: bool, **options: Any) -> None:
        if every_job(codes, every):
            return resume_all(context)
        for job in [context.job(code) for code in dict.fromkeys(codes)]:
            if actions.resume(job, actor(), context.now):
                nxt = job.get_schedule().next_after(context.now)
                context.stdout.write(
                    f"{job.get_code()}: resumed; slots missed while paused are skipped. "
                    f"Next run {overview.when(nxt, context.now, job.get_timezone())}."
                )
            else:
                context.stdout.write(f"{job.get_code()}: not paused.")


class RunNow(_OnOneJob):
    """``run CODE`` asks the next runcrons (where cron runs the jobs: its host, user, environment
    and lock directory), as the admin's "run now" does; ``run CODE --now`` runs it here, at once,
    as ``runcrons CODE --force`` does (locked, recorded, exit 1 when it fails)."""

    name = "run"
    help = "Ask the next runcrons to run the job once, as a forced run; --now: run it here, now, and wait."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--now",
            action="store_true",
            help="Run it in this process now (as `runcrons CODE --force`) instead of asking the next runcrons.",
        )

    def handle(self, context: Context, *, code: str, now: bool, verbosity: int = 1, **options: Any) -> None:
        job = context.job(code)
        if now:
            from django.core.management import call_command

            call_command("runcrons", job.get_code(), "--force", stdout=context.stdout, verbosity=verbosity)
            return
        actions.request_run(job, actor(), context.now)
        context.stdout.write(
            f"{job.get_code()}: requested; the next runcrons runs it once, as a forced run (under cron: within "
            f"a minute). To run it here and now instead: `manage.py cronjobs run {job.get_code()} --now`."
        )


class Unlock(_OnOneJob):
    name = "unlock"
    help = "Break the job's lock (after confirmation)."

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, context: Context, *, code: str, yes: bool, **options: Any) -> None:
        job = context.job(code)
        out = context.stdout
        holder = overview.lock_holder(job)
        if holder is None:
            out.write(f"{job.get_code()}: its lock is free.")
            return
        question = f"{job.get_code()}: lock held by {holder}. Break it?"
        refusal = f"{job.get_code()}: lock held by {holder}; add --yes to break it without a prompt"
        if not confirm(question, refusal=refusal, yes=yes):
            out.write("Left as it is.")
            return
        broken = actions.unlock(job, actor(), context.now)
        if broken is None:
            out.write(f"{job.get_code()}: its lock was released meanwhile.")
        else:
            out.write(f"{job.get_code()}: lock broken (was held by {broken}). If that process hangs, stop it yourself.")
