"""``cronjobs simulate [CODE ...] --from DATE --to DATE [--outage FROM..TO] [--json]``.

What the real runner would do with the jobs, slot by slot: run, caught up, missed, skipped, with
local and UTC times and the changes of the clocks marked (:mod:`cronjobs.ops.simulation`).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

from django.core.management import CommandError
from django.utils import timezone as django_timezone

from cronjobs import words
from cronjobs.management.subcommands.base import EXIT_USAGE, Context, Subcommand, as_json
from cronjobs.ops import simulation

UTC = timezone.utc
EDGES = "use dates between 0001-01-02 and 9999-12-30"
FORMATS = "YYYY-MM-DD, YYYY-MM-DD HH:MM, or ISO 8601 with an offset (2026-10-25T01:30+02:00, ...Z)"


def moment(value: str) -> datetime:
    """A date or a date and time; without an offset, in the project's ``TIME_ZONE``."""
    try:
        text = value.strip()
        if text[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat knows no Z
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date or time; use {FORMATS}") from None
    try:
        if parsed.tzinfo is None:
            parsed = django_timezone.make_aware(parsed, django_timezone.get_default_timezone())
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01 00:00 at +05:00 is before the first moment a datetime holds
        raise argparse.ArgumentTypeError(f"{value!r} is past the edge of the calendar; {EDGES}") from None


def stretch(value: str) -> tuple[datetime, datetime]:
    """``FROM..TO``: two moments, the second after the first."""
    begin, dots, end = value.partition("..")
    if not dots:
        raise argparse.ArgumentTypeError(f"{value!r}: write an outage as FROM..TO, e.g. '2026-10-25 00:10..03:40'")
    first = moment(begin)
    end = end.strip()
    if end and ":" in end and "-" not in end.split(":")[0] and len(end) <= 8:  # a time only: FROM's day
        local = first.astimezone(django_timezone.get_default_timezone())
        end = f"{local:%Y-%m-%d} {end}"
    last = moment(end)
    if last <= first:
        raise argparse.ArgumentTypeError(f"{value!r}: the outage must end after it starts")
    return first, last


class Simulate(Subcommand):
    name = "simulate"
    help = "What the runner would do, slot by slot, across DST changes and outages (nothing is changed)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("codes", nargs="*", metavar="CODE", help="Only these jobs (default: all).")
        parser.add_argument(
            "--from", dest="start", type=moment, required=True, metavar="DATE", help=f"Start: {FORMATS}."
        )
        parser.add_argument("--to", dest="end", type=moment, required=True, metavar="DATE", help="End (inclusive).")
        parser.add_argument(
            "--outage",
            action="append",
            type=stretch,
            default=[],
            metavar="FROM..TO",
            help="No runcrons in this stretch (repeatable); a time alone after '..' is on FROM's day.",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(
        self,
        context: Context,
        *,
        codes: list[str],
        start: datetime,
        end: datetime,
        outage: list[tuple[datetime, datetime]],
        json: bool,
        **options: Any,
    ) -> None:
        if end <= start:
            raise CommandError("--to must come after --from", returncode=EXIT_USAGE)
        jobs = {context.job(code).get_code(): context.job(code) for code in codes} if codes else context.jobs
        if not jobs:
            raise CommandError("no jobs are registered: nothing to simulate", returncode=EXIT_USAGE)
        try:
            result = simulation.simulate(jobs, start, end, outage)
        except simulation.SimulationError as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except OverflowError:  # a slot before or after the stretch lies beyond year 1 or 9999
            raise CommandError(
                f"the stretch from {words.moment(start, 'UTC')} to {words.moment(end, 'UTC')} is too close to the "
                f"edge of the calendar: a slot before or after it lies beyond year 1 or 9999; {EDGES}, away from "
                "the ends by more than the longest schedule",
                returncode=EXIT_USAGE,
            ) from None
        if json:
            context.stdout.write(as_json(_data(result, jobs)))
        else:
            _text(context, result, jobs)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _local(moment: datetime, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return words.moment(moment, ZoneInfo(zone))


def _data(result: simulation.Simulation, jobs: dict[str, Any]) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    return {
        "from": result.start.isoformat(),
        "to": result.end.isoformat(),
        "outages": [{"from": a.isoformat(), "to": b.isoformat()} for a, b in result.outages],
        "jobs": {
            code: {"schedule": job.get_schedule().describe(), "zone": job.get_timezone(), "catchup": job.catchup}
            for code, job in jobs.items()
        },
        "slots": [
            {
                "job": step.code,
                "slot": step.slot.isoformat(),
                "local": step.slot.astimezone(ZoneInfo(step.zone)).isoformat(),
                "status": step.status,
                "settled_at": step.at.isoformat(),
                "note": step.note,
                "message": step.message,
            }
            for step in result.steps
        ],
        "clock_changes": [
            {
                "zone": change.zone,
                "at": change.at.isoformat(),
                "before": change.before.isoformat(),
                "after": change.after.isoformat(),
                "words": change.words,
            }
            for change in result.changes
        ],
    }


def _text(context: Context, result: simulation.Simulation, jobs: dict[str, Any]) -> None:
    out, style = context.stdout, context.style
    out.write(
        f"runcrons every minute from {_utc(result.start)} to {_utc(result.end)} UTC; the jobs first seen just before."
    )
    for code, job in jobs.items():
        out.write(f"  {code}: {job.get_schedule().describe()}, catchup={job.catchup!r}")
    events: list[tuple[datetime, int, str]] = []
    for begin, end in result.outages:
        events.append((begin, 0, f"-- outage: no runcrons from {_utc(begin)} to {_utc(end)} UTC"))
        events.append((end, 0, f"-- runcrons again from {_utc(end)} UTC"))
    for change in result.changes:
        events.append((change.at, 0, f"-- {change.words}, at {_utc(change.at)} UTC"))
    width = max([len(code) for code in jobs] + [3])
    for step in result.steps:
        late = f"at {step.at.astimezone(UTC):%H:%M:%S}" if step.at - step.slot >= simulation.MINUTE else ""
        line = (
            f"{_local(step.slot, step.zone):<24}  {_utc(step.slot)}  {step.code:<{width}}  "
            f"{step.status:<9}  {'  '.join(filter(None, [late, step.note]))}"
        ).rstrip()
        if step.status not in ("run", "caught up"):
            line = style.WARNING(line)
        events.append((step.slot, 1, line))
    out.write("")
    out.write(f"{'slot (job zone)':<24}  {'slot (UTC)':<19}  {'job':<{width}}  {'what':<9}  notes")
    for _, _, line in sorted(events, key=lambda event: (event[0], event[1])):
        out.write(line)
    out.write("")
    for code in jobs:
        mine = [step.status for step in result.steps if step.code == code]
        counts = ", ".join(f"{mine.count(s)} {s}" for s in dict.fromkeys(mine)) or "no slots"
        out.write(f"{code}: {counts}")
