"""``manage.py cronjobs list|history|pause|resume|unlock|prune``: operating the jobs."""

from __future__ import annotations

import dataclasses
import getpass
import json
import socket
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management import BaseCommand, CommandError
from django.utils import timezone

from cronjobs import registry
from cronjobs.exceptions import CronJobsError
from cronjobs.jobs import BaseCronJob
from cronjobs.management.arguments import positive_int
from cronjobs.models import FAILURES, Run
from cronjobs.ops import actions, overview, retention

EXIT_USAGE = 2


class Command(BaseCommand):
    help = "Operate the cron jobs: list, history, pause, resume, unlock, prune."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        cmd = sub.add_parser("list", help="Every job: schedule, next run, last run, paused, lock holder.")
        cmd.add_argument("--json", action="store_true", dest="as_json", help="One JSON document, for machines.")
        cmd = sub.add_parser("history", help="Recent runs, newest first.")
        cmd.add_argument("code", nargs="?", metavar="CODE", help="Only this job.")
        cmd.add_argument("--failed", action="store_true", help="Only runs that failed, timed out, crashed or stopped.")
        cmd.add_argument("--limit", type=positive_int, default=20, help="At most this many runs (default 20).")
        cmd.add_argument("--run", type=positive_int, metavar="ID", help="Show one run whole: traceback and output.")
        for name, text in (
            ("pause", "Stop running the job's slots until resumed."),
            ("resume", "Run the job again from now on (slots missed while paused are skipped)."),
            ("run", "Have the next runcrons run the job once, as a forced run."),
        ):
            sub.add_parser(name, help=text).add_argument("code", metavar="CODE")
        cmd = sub.add_parser("unlock", help="Break the job's lock (after confirmation).")
        cmd.add_argument("code", metavar="CODE")
        cmd.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
        sub.add_parser("prune", help="Apply CRONJOBS['KEEP_RUNS'] to every job now.")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        self.now = timezone.now()
        self.jobs = registry.get_jobs()
        try:
            getattr(self, f"do_{subcommand}")(**options)
        except overview.UnknownJob as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except CronJobsError as exc:
            raise CommandError(str(exc)) from None

    def job(self, code: str) -> type[BaseCronJob]:
        return self.jobs[overview.find_code(code, self.jobs)]

    # -- list -------------------------------------------------------------------------

    def do_list(self, *, as_json: bool, **options: Any) -> None:
        rows = overview.collect(self.jobs, self.now)
        queues = _queues(self.now)
        if as_json:
            document: dict[str, Any] = {"now": self.now.isoformat(), "jobs": [row.as_dict() for row in rows]}
            if queues is not None:
                document["task_queues"] = [dataclasses.asdict(counts) for counts in queues]
            self.stdout.write(_json(document))
            return
        if not rows:
            self.stdout.write("No jobs registered. Write BaseCronJob subclasses in <app>/cron.py.")
        else:
            self.stdout.write("\n\n".join(self._format(row) for row in rows))
        if queues is not None:
            from cronjobs.tasks.stats import format_counts

            lines = format_counts(queues) or ["no tasks queued"]
            self.stdout.write(
                "\n" + self.style.MIGRATE_HEADING("task queues") + "\n" + "\n".join(f"  {line}" for line in lines)
            )

    def _format(self, row: overview.JobStatus) -> str:
        flags = []
        if row.paused:
            flags.append(self.style.WARNING("PAUSED"))
        if not row.registered:
            flags.append(self.style.WARNING("NOT REGISTERED"))
        if row.failing_since:
            flags.append(self.style.ERROR(f"FAILING since {overview.when(row.failing_since, self.now, row.zone)}"))
        lines = [self.style.MIGRATE_HEADING(row.code) + ("  " + "  ".join(flags) if flags else "")]
        lines.append(f"  schedule  {row.schedule}")
        if row.registered:
            if row.paused and row.next_reason != "requested":
                nxt = "paused: resume with `manage.py cronjobs resume " + row.code + "`"
            else:
                nxt = overview.when(row.next_run, self.now, row.zone)
                if row.next_run is not None and row.next_run <= self.now and row.next_reason == "schedule":
                    nxt += " (due: at the next runcrons; is cron running it?)"
                if row.next_reason in ("retry", "requested"):
                    nxt += f" ({'retry' if row.next_reason == 'retry' else 'run requested: at the next runcrons'})"
            lines.append(f"  next      {nxt}")
        last = row.last_run
        if last is None:
            lines.append("  last      never ran")
        else:
            moment = last.started_at or last.slot
            text = f"{last.get_status_display()} {overview.when(moment, self.now, row.zone)}"
            if last.duration is not None:
                text += f", took {last.duration:.2f} s"
            if last.message:
                text += f": {_one_line(last.message)}"
            text += f"  [run {last.pk}]"
            lines.append("  last      " + (self.style.ERROR(text) if last.status in FAILURES else text))
        if row.running is not None:
            since = overview.when(row.running.started_at, self.now, row.zone)
            lines.append(f"  running   since {since}  [run {row.running.pk}]")
        if row.lock_holder:
            since = f" since {overview.when(row.locked_since, self.now, row.zone)}" if row.locked_since else ""
            lines.append(f"  lock      held by {row.lock_holder}{since}")
        elif row.registered:
            lines.append("  lock      free")
        return "\n".join(lines)

    # -- history ----------------------------------------------------------------------

    def do_history(self, *, code: str | None, failed: bool, limit: int, run: int | None, **options: Any) -> None:
        if run is not None:
            record = Run.objects.filter(pk=run).first()
            if record is None:
                raise CommandError(f"no run with id {run} (pruned, or never existed)", returncode=EXIT_USAGE)
            self.stdout.write(self._whole(record))
            return
        runs = Run.objects.all()
        if code is not None:
            runs = runs.filter(job_id=overview.find_code(code, self.jobs, recorded=True))
        if failed:
            runs = runs.filter(status__in=FAILURES)
        records = list(runs.order_by("-slot", "-attempt", "-pk")[:limit])
        if not records:
            self.stdout.write("No runs recorded" + (" that failed." if failed else "."))
            return
        width = max(len(r.job_id) for r in records)

        def columns(*values: str) -> str:
            run, started, job, state, took, notes = values
            return f"{run:>7}  {started:<23}  {job:<{width}}  {state:<11}  {took:>8}  {notes}".rstrip()

        self.stdout.write(columns("run", "started (job's zone)", "job", "status", "took", "message"))
        for record in records:
            moment = timezone.localtime(record.started_at or record.slot, ZoneInfo(self._zone(record.job_id)))
            state = record.get_status_display() + (f" #{record.attempt}" if record.attempt > 1 else "")
            notes = "; ".join(filter(None, ["forced" if record.forced else "", _one_line(record.message)]))
            line = columns(
                str(record.pk),
                f"{moment:%Y-%m-%d %H:%M:%S %Z}",
                record.job_id,
                state,
                "" if record.duration is None else f"{record.duration:.2f} s",
                notes,
            )
            self.stdout.write(self.style.ERROR(line) if record.status in FAILURES else line)

    def _zone(self, code: str) -> str:
        job = self.jobs.get(code)
        return job.get_timezone() if job else "UTC"

    def _whole(self, run: Run) -> str:
        zone = self._zone(run.job_id)
        rows = [
            ("run", str(run.pk)),
            ("job", run.job_id),
            ("slot", overview.when(run.slot, self.now, zone)),
            ("attempt", str(run.attempt) + (" (forced)" if run.forced else "")),
            ("status", run.get_status_display()),
            ("started", overview.when(run.started_at, self.now, zone)),
            ("finished", overview.when(run.finished_at, self.now, zone)),
            ("duration", "-" if run.duration is None else f"{run.duration:.3f} s"),
            ("host", f"{run.hostname} (pid {run.pid})" if run.hostname else "-"),
            ("message", run.message or "-"),
        ]
        text = "\n".join(f"{name:<9} {value}" for name, value in rows)
        text += "\n\ntraceback:\n" + (run.traceback.rstrip() or "(none)")
        text += "\n\noutput:\n" + (run.output.rstrip() or "(none)")
        return text + "\n"

    # -- acting -----------------------------------------------------------------------

    def do_pause(self, *, code: str, **options: Any) -> None:
        job = self.job(code)
        if actions.pause(job, _actor(), self.now):
            self.stdout.write(f"{job.get_code()}: paused. Resume with `manage.py cronjobs resume {job.get_code()}`.")
        else:
            self.stdout.write(f"{job.get_code()}: already paused.")

    def do_resume(self, *, code: str, **options: Any) -> None:
        job = self.job(code)
        if actions.resume(job, _actor(), self.now):
            nxt = job.get_schedule().next_after(self.now)
            self.stdout.write(
                f"{job.get_code()}: resumed; slots missed while paused are skipped. "
                f"Next run {overview.when(nxt, self.now, job.get_timezone())}."
            )
        else:
            self.stdout.write(f"{job.get_code()}: not paused.")

    def do_run(self, *, code: str, **options: Any) -> None:
        job = self.job(code)
        actions.request_run(job, _actor(), self.now)
        self.stdout.write(f"{job.get_code()}: the next runcrons runs it once, as a forced run.")

    def do_unlock(self, *, code: str, yes: bool, **options: Any) -> None:
        job = self.job(code)
        holder = overview.lock_holder(job)
        if holder is None:
            self.stdout.write(f"{job.get_code()}: its lock is free.")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError(
                    f"{job.get_code()}: lock held by {holder}; add --yes to break it without a prompt",
                    returncode=EXIT_USAGE,
                )
            answer = input(f"{job.get_code()}: lock held by {holder}. Break it? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                self.stdout.write("Left as it is.")
                return
        broken = actions.unlock(job, _actor(), self.now)
        if broken is None:
            self.stdout.write(f"{job.get_code()}: its lock was released meanwhile.")
        else:
            self.stdout.write(
                f"{job.get_code()}: lock broken (was held by {broken}). If that process hangs, stop it yourself."
            )

    def do_prune(self, **options: Any) -> None:
        keep = retention.policy()
        if keep.keeps_all:
            self.stdout.write("CRONJOBS['KEEP_RUNS'] is None: all runs are kept.")
            return
        deleted = retention.prune_all(self.now, keep)
        total = sum(deleted.values())
        for code, count in deleted.items():
            if count and options["verbosity"] >= 2:
                self.stdout.write(f"{code}: {count} run(s) deleted")
        self.stdout.write(f"{total} run(s) deleted (keeping {_policy_words(keep)}).")


def _policy_words(keep: retention.Policy) -> str:
    parts = []
    if keep.count is not None:
        parts.append(f"the newest {keep.count} per job")
    if keep.age is not None:
        parts.append(f"runs of the last {keep.age}")
    return " and only ".join(parts)


def _actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (containers)
        user = "?"
    return f"{user}@{socket.gethostname()} (manage.py cronjobs)"


def _one_line(value: str, limit: int = 120) -> str:
    text = " ".join(value.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _queues(now: datetime) -> list[Any] | None:
    """Counts per task queue, or None when the tasks app is not installed or not configured."""
    from django.apps import apps

    if not apps.is_installed("cronjobs.tasks"):
        return None
    from cronjobs.tasks.worker import backend_aliases

    if not backend_aliases():
        return None
    from cronjobs.tasks.stats import queue_counts

    return queue_counts(now)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
