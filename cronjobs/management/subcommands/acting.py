"""``cronjobs pause|resume CODE... | run|unlock CODE``: what a person does to a job, each recorded as an action."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management import CommandError

from cronjobs.management.subcommands.base import EXIT_USAGE, Context, Subcommand, actor
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
    name = "run"
    help = "Have the next runcrons run the job once, as a forced run."

    def handle(self, context: Context, *, code: str, **options: Any) -> None:
        job = context.job(code)
        actions.request_run(job, actor(), context.now)
        context.stdout.write(f"{job.get_code()}: the next runcrons runs it once, as a forced run.")


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
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError(
                    f"{job.get_code()}: lock held by {holder}; add --yes to break it without a prompt",
                    returncode=EXIT_USAGE,
                )
            answer = input(f"{job.get_code()}: lock held by {holder}. Break it? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                out.write("Left as it is.")
                return
        broken = actions.unlock(job, actor(), context.now)
        if broken is None:
            out.write(f"{job.get_code()}: its lock was released meanwhile.")
        else:
            out.write(f"{job.get_code()}: lock broken (was held by {broken}). If that process hangs, stop it yourself.")
