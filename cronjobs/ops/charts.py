"""Pictures of a job's recent runs for the admin's job page: server-rendered SVG, no JavaScript.

- **Timeline**: one mark per slot, oldest on the left, coloured by how the slot ended (its last
  attempt). Slots the schedule had but nothing recorded (pruned, or passed while ``runcrons``
  was not running and ``catchup`` is ``"none"``) are drawn hollow, so gaps are visible.
- **Durations**: one bar per finished run, as tall as it took, with the job's timeout drawn as
  a line when it has one.

Each mark carries a ``<title>`` (the slot, status, attempt and duration) that browsers show on
hover. Everything shown is escaped; the functions take ``now`` and never read the clock.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from cronjobs import words
from cronjobs.exceptions import ScheduleError
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Job, Run

Status = Run.Status

#: How many slots the timeline shows, and how many runs the duration chart.
SLOTS = 60
#: Colours by status; slots without a record are hollow.
COLOURS: dict[str, str] = {
    Status.SUCCEEDED: "#417505",
    Status.FAILED: "#ba2121",
    Status.TIMED_OUT: "#e06c00",
    Status.CRASHED: "#7b1fa2",
    Status.INTERRUPTED: "#a0522d",
    Status.SKIPPED: "#8a9ba8",
    Status.MISSED: "#f2b600",
    Status.RUNNING: "#205067",
}
NO_RECORD = "no record"
_MARK, _GAP, _HEIGHT = 12, 3, 26
_CHART_HEIGHT, _AXIS = 90, 84
#: A timeout more than this many times the longest run is named, not drawn: bars would be flat.
_TIMEOUT_SCALE = 4


def recent_slots(
    row: Job, job: type[BaseCronJob] | None, now: datetime, limit: int = SLOTS
) -> list[tuple[datetime, Run | None]]:
    """The newest ``limit`` slots up to ``now``, oldest first, each with its last attempt's record (or None)."""
    runs: dict[datetime, Run] = {}
    for run in Run.objects.filter(job_id=row.code, slot__lte=now).order_by("-slot", "-attempt")[: limit * 4]:
        runs.setdefault(run.slot, run)
    slots = set(itertools.islice(runs, limit))
    if job is not None:
        try:
            schedule = job.get_schedule()
        except ScheduleError:
            pass
        else:
            until = min(now, row.watermark)  # later slots are not due or not settled yet: not gaps
            slots.update(itertools.islice(schedule.slots_back(row.first_seen, until), limit))
    newest = sorted(slots, reverse=True)[:limit]
    return [(slot, runs.get(slot)) for slot in reversed(newest)]


def timeline_svg(slots: list[tuple[datetime, Run | None]], zone: ZoneInfo) -> SafeString:
    """One mark per slot; hollow where nothing was recorded."""
    width = max(1, len(slots)) * (_MARK + _GAP)
    marks = []
    for index, (slot, run) in enumerate(slots):
        x = index * (_MARK + _GAP)
        status = run.status if run else NO_RECORD
        title = f"{words.moment(slot, zone)}: {_status_words(run)}"
        if run is None:
            marks.append(
                format_html(
                    '<rect class="cronjobs-slot cronjobs-slot-none" x="{}" y="1" width="{}" height="{}" rx="2" '
                    'fill="none" stroke="#999" stroke-dasharray="2 2"><title>{}</title></rect>',
                    x + 0.5,
                    _MARK - 1,
                    _HEIGHT - 2,
                    title,
                )
            )
        else:
            marks.append(
                format_html(
                    '<rect class="cronjobs-slot cronjobs-slot-{}" x="{}" y="0" width="{}" height="{}" rx="2" '
                    'fill="{}"><title>{}</title></rect>',
                    status,
                    x,
                    _MARK,
                    _HEIGHT,
                    COLOURS.get(status, "#666"),
                    title,
                )
            )
    return mark_safe(
        f'<svg class="cronjobs-timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{_HEIGHT}" '
        f'viewBox="0 0 {width} {_HEIGHT}" role="img" aria-label="{escape(_label(slots, zone))}">'
        + "".join(marks)
        + "</svg>"
    )


def durations_svg(runs: list[Run], timeout: timedelta | None, zone: ZoneInfo) -> SafeString:
    """One bar per finished run (oldest first), scaled to the longest, with the timeout as a
    labelled line when it is on that scale (up to ``_TIMEOUT_SCALE`` times the longest run)."""
    finished = [run for run in runs if run.duration is not None]
    longest = max([run.duration or 0.0 for run in finished] + [0.001])
    if timeout and timeout.total_seconds() > longest * _TIMEOUT_SCALE:
        timeout = None  # named under the chart's title instead (job_charts)
    top = max(longest, timeout.total_seconds() if timeout else 0.0)
    width = _AXIS + max(1, len(finished)) * (_MARK + _GAP)
    parts = [
        format_html(
            '<text x="{}" y="10" font-size="10" text-anchor="end" fill="#666">{}</text>', _AXIS - 6, words.duration(top)
        )
        if timeout is None or timeout.total_seconds() < top
        else "",  # the timeout's label says it
        format_html(
            '<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#666">0 s</text>', _AXIS - 6, _CHART_HEIGHT
        ),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ccc"/>', _AXIS - 2, _CHART_HEIGHT, width, _CHART_HEIGHT
        ),
    ]
    for index, run in enumerate(finished):
        height = max(1.0, (run.duration or 0.0) / top * (_CHART_HEIGHT - 4))
        parts.append(
            format_html(
                '<rect class="cronjobs-bar cronjobs-bar-{}" x="{}" y="{}" width="{}" height="{}" fill="{}">'
                "<title>{}: {}</title></rect>",
                run.status,
                _AXIS + index * (_MARK + _GAP),
                f"{_CHART_HEIGHT - height:.1f}",
                _MARK,
                f"{height:.1f}",
                COLOURS.get(run.status, "#666"),
                words.moment(run.slot, zone),
                _status_words(run),
            )
        )
    if timeout:
        y = _CHART_HEIGHT - timeout.total_seconds() / top * (_CHART_HEIGHT - 4)
        label = f"timeout {words.duration(timeout.total_seconds())}"
        parts.append(
            format_html(
                '<line class="cronjobs-timeout" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ba2121" '
                'stroke-dasharray="4 3"><title>{}</title></line>'
                '<text class="cronjobs-timeout-label" x="{}" y="{}" font-size="10" text-anchor="end" '
                'fill="#ba2121">{}</text>',
                _AXIS - 2,
                f"{y:.1f}",
                width,
                f"{y:.1f}",
                label,
                _AXIS - 6,
                f"{min(max(y + 3.5, 10.0 if timeout.total_seconds() >= top else 20.0), _CHART_HEIGHT - 12):.1f}",
                label,
            )
        )
    return mark_safe(
        f'<svg class="cronjobs-durations" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{_CHART_HEIGHT + 2}" viewBox="0 0 {width} {_CHART_HEIGHT + 2}" role="img" '
        f'aria-label="durations of the last {words.count(len(finished), "run")}">' + "".join(parts) + "</svg>"
    )


def legend() -> SafeString:
    keys = [*COLOURS.items(), (NO_RECORD, "")]
    items = [
        format_html(
            '<span style="display:inline-block;width:10px;height:10px;margin:0 3px 0 10px;vertical-align:middle;'
            'background:{};{}"></span>{}',
            colour or "none",
            "" if colour else "border:1px dashed #999;",
            words.status(status) if colour else NO_RECORD,
        )
        for status, colour in keys
    ]
    return mark_safe('<div class="cronjobs-legend" style="font-size:11px;color:#666">' + "".join(items) + "</div>")


def job_charts(row: Job, job: type[BaseCronJob] | None, now: datetime, zone: ZoneInfo) -> SafeString:
    """The timeline, the duration chart and a legend, as one block of HTML."""
    slots = recent_slots(row, job, now)
    runs = [run for _, run in slots if run is not None and run.status not in (Status.MISSED, Status.SKIPPED)]
    timeout = job.timeout if job is not None else None
    return format_html(
        '<div class="cronjobs-charts"><div style="margin-bottom:4px">{}</div>{}'
        '<div style="margin:12px 0 4px">{}</div>{}</div>',
        f"Last {_label(slots, zone)} ({zone.key}), oldest first",
        timeline_svg(slots, zone) + legend(),
        f"Durations of the last {words.count(sum(run.duration is not None for run in runs), 'run')}"
        + (f" (timeout {words.duration(timeout.total_seconds())})" if timeout else ""),
        durations_svg(runs, timeout, zone),
    )


def _status_words(run: Run | None) -> str:
    if run is None:
        return NO_RECORD
    text = words.status(run.status)
    if run.attempt > 1:
        text += f" (attempt {run.attempt})"
    if run.duration is not None:
        text += f", {words.duration(run.duration)}"
    return text


def _label(slots: list[tuple[datetime, Run | None]], zone: ZoneInfo) -> str:
    if not slots:
        return "no slots yet"
    first, last = slots[0][0].astimezone(zone), slots[-1][0].astimezone(zone)
    if len(slots) == 1:
        return f"1 slot, {first:%Y-%m-%d %H:%M}"
    return f"{words.count(len(slots), 'slot')} from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"
