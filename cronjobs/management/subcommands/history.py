"""``cronjobs history [CODE] [--failed] [--limit N] [--run ID]``: recent runs, or one run whole."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.core.management import CommandError
from django.utils import timezone

from cronjobs import words
from cronjobs.management.arguments import positive_int
from cronjobs.management.subcommands.base import EXIT_USAGE, Context, Subcommand, one_line
from cronjobs.models import FAILURES, Run
from cronjobs.ops import overview
from cronjobs.text import printable


class History(Subcommand):
    name = "history"
    help = "Recent runs, newest first."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("code", nargs="?", metavar="CODE", help="Only this job.")
        parser.add_argument(
            "--failed", action="store_true", help="Only runs that failed, timed out, crashed or stopped."
        )
        parser.add_argument("--limit", type=positive_int, default=20, help="At most this many runs (default 20).")
        parser.add_argument("--run", type=positive_int, metavar="ID", help="Show one run whole: traceback and output.")

    def handle(
        self, context: Context, *, code: str | None, failed: bool, limit: int, run: int | None, **options: Any
    ) -> None:
        out, style = context.stdout, context.style
        if run is not None:
            record = Run.objects.filter(pk=run).first()
            if record is None:
                raise CommandError(f"no run with id {run} (pruned, or never existed)", returncode=EXIT_USAGE)
            out.write(_whole(context, record))
            return
        runs = Run.objects.all()
        if code is not None:
            runs = runs.filter(job_id=overview.find_code(code, context.jobs, recorded=True))
        if failed:
            runs = runs.filter(status__in=FAILURES)
        records = list(runs.order_by("-slot", "-attempt", "-pk")[:limit])
        if not records:
            out.write("No runs recorded" + (" that failed." if failed else "."))
            return
        width = max(len(r.job_id) for r in records)

        def columns(*values: str) -> str:
            run, started, job, state, took, notes = values
            return f"{run:>7}  {started:<23}  {job:<{width}}  {state:<11}  {took:>8}  {notes}".rstrip()

        out.write(columns("run", "started (job's zone)", "job", "status", "took", "message"))
        for record in records:
            moment = timezone.localtime(record.started_at or record.slot, ZoneInfo(context.zone(record.job_id)))
            state = record.get_status_display() + (f" #{record.attempt}" if record.attempt > 1 else "")
            notes = "; ".join(filter(None, ["forced" if record.forced else "", one_line(record.message)]))
            line = columns(
                str(record.pk),
                words.moment(moment),
                record.job_id,
                state,
                "" if record.duration is None else f"{record.duration:.2f} s",
                notes,
            )
            out.write(style.ERROR(line) if record.status in FAILURES else line)


def _whole(context: Context, run: Run) -> str:
    zone, now = context.zone(run.job_id), context.now
    rows = [
        ("run", str(run.pk)),
        ("job", run.job_id),
        ("slot", overview.when(run.slot, now, zone)),
        ("attempt", str(run.attempt) + (" (forced)" if run.forced else "")),
        ("status", run.get_status_display()),
        ("started", overview.when(run.started_at, now, zone)),
        ("finished", overview.when(run.finished_at, now, zone)),
        ("duration", "-" if run.duration is None else f"{run.duration:.3f} s"),
        ("host", f"{run.hostname} (pid {run.pid})" if run.hostname else "-"),
        ("message", printable(run.message, lines=True) or "-"),
    ]
    text = "\n".join(f"{name:<9} {value}" for name, value in rows)
    text += "\n\ntraceback:\n" + (printable(run.traceback.rstrip(), lines=True) or "(none)")
    text += "\n\noutput:\n" + (printable(run.output.rstrip(), lines=True) or "(none)")
    return text + "\n"
