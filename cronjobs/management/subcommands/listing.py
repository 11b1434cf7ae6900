"""``cronjobs list [CODE ...] [--json]``: every job, its schedule in words, next run, last run, paused, lock."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from cronjobs.management.subcommands.base import Context, Subcommand, one_line
from cronjobs.management.subcommands.base import as_json as to_json
from cronjobs.models import FAILURES
from cronjobs.ops import maintenance, overview


class ListJobs(Subcommand):
    name = "list"
    help = "Every job: schedule, next run, last run, paused, lock holder."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("codes", nargs="*", metavar="CODE", help="Only these jobs (default: all).")
        parser.add_argument("--json", action="store_true", dest="as_json", help="One JSON document, for machines.")

    def handle(self, context: Context, *, as_json: bool, codes: list[str] | None = None, **options: Any) -> None:
        wanted = [overview.find_code(code, context.jobs, recorded=True) for code in codes or ()]
        rows = overview.collect(context.jobs, context.now)
        switch = maintenance.current()
        if wanted:
            rows = [row for row in rows if row.code in wanted]
        queues = None if wanted else _queues(context.now)
        out, style = context.stdout, context.style
        if as_json:
            document: dict[str, Any] = {"now": context.now.isoformat(), "jobs": [row.as_dict() for row in rows]}
            document["maintenance"] = (
                None if switch is None else {"since": switch.since.isoformat(), "by": switch.actor}
            )
            for entry, row in zip(document["jobs"], rows, strict=True):
                entry["held_by_maintenance"] = maintenance.held(row.job, switch)
            if queues is not None:
                document["task_queues"] = [dataclasses.asdict(counts) for counts in queues]
            out.write(to_json(document))
            return
        if switch is not None:
            out.write(style.WARNING(maintenance.banner(switch)) + "\n")
        if not rows:
            out.write("No jobs registered. Write BaseCronJob subclasses in <app>/cron.py.")
        else:
            out.write("\n\n".join(_format(context, row, maintenance.held(row.job, switch)) for row in rows))
        if queues is not None:
            from cronjobs.tasks.stats import format_counts

            lines = format_counts(queues) or ["no tasks queued"]
            out.write("\n" + style.MIGRATE_HEADING("task queues") + "\n" + "\n".join(f"  {line}" for line in lines))


def _format(context: Context, row: overview.JobStatus, held: bool = False) -> str:
    now, style = context.now, context.style
    flags = []
    if row.paused:
        flags.append(style.WARNING("PAUSED"))
    if held:
        flags.append(style.WARNING("HELD (maintenance mode)"))
    if not row.registered:
        flags.append(style.WARNING("NOT REGISTERED"))
    if row.failing_since:
        flags.append(style.ERROR(f"FAILING since {overview.when(row.failing_since, now, row.zone)}"))
    lines = [style.MIGRATE_HEADING(row.code) + ("  " + "  ".join(flags) if flags else "")]
    lines.append(f"  schedule  {row.schedule}")
    if row.registered:
        if row.paused and row.next_reason != "requested":
            nxt = "paused: resume with `manage.py cronjobs resume " + row.code + "`"
        elif held and row.next_reason != "requested":
            nxt = "held by maintenance mode: runs again after `manage.py cronjobs resume --all`"
        else:
            nxt = overview.when(row.next_run, now, row.zone)
            if row.next_run is not None and row.next_run <= now and row.next_reason == "schedule":
                nxt += " (due: at the next runcrons; is cron running it?)"
            if row.next_reason in ("retry", "requested"):
                nxt += f" ({'retry' if row.next_reason == 'retry' else 'run requested: at the next runcrons'})"
        lines.append(f"  next      {nxt}")
    last = row.last_run
    if last is None:
        lines.append("  last      never ran")
    else:
        moment = last.started_at or last.slot
        text = f"{last.get_status_display()} {overview.when(moment, now, row.zone)}"
        if last.duration is not None:
            text += f", took {last.duration:.2f} s"
        if last.message:
            text += f": {one_line(last.message)}"
        text += f"  [run {last.pk}]"
        lines.append("  last      " + (style.ERROR(text) if last.status in FAILURES else text))
    if row.running is not None:
        since = overview.when(row.running.started_at, now, row.zone)
        lines.append(f"  running   since {since}  [run {row.running.pk}]")
    if row.lock_holder:
        since = f" since {overview.when(row.locked_since, now, row.zone)}" if row.locked_since else ""
        lines.append(f"  lock      held by {row.lock_holder}{since}")
    elif row.registered:
        lines.append("  lock      free")
    return "\n".join(lines)


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
