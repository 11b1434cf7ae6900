"""When runcrons should look at its jobs again: sub-minute intervals and ``--loop``'s wake-ups.

Cron starts runcrons once a minute. A job whose interval is under a minute has slots in
between: a cron-started runcrons with such a job stays up to the end of the minute it
started in, waking at each slot that comes due before that minute ends and running what is
due then through a new :class:`~cronjobs.engine.runner.Runner` pass, exactly as the next
invocation would (the same claims, watermark and locks). It exits before the next minute,
whose invocation takes over. ``runcrons --loop`` wakes at the next due slot of any job, or
at the next minute boundary, whichever comes first.

The next due moment is read from the jobs' rows (``next_slot``, ``retry_at``) in one query,
so it is whatever the runner settled, never a second computation of the schedules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone

from cronjobs.engine import stops
from cronjobs.exceptions import CronJobsError
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Job
from cronjobs.schedules import IntervalSchedule

MINUTE = timedelta(minutes=1)
#: ``--loop`` with a slot overdue right after a pass (the pass outlasted it) runs again this soon:
#: soon enough to catch up, and no busy loop if the pass could not settle it.
OVERDUE_PAUSE = timedelta(seconds=0.1)


def sub_minute(jobs: Iterable[type[BaseCronJob]]) -> bool:
    """Whether any of ``jobs`` has an interval under a minute (no query)."""
    for job in jobs:
        try:
            schedule = job.get_schedule()
        except CronJobsError:  # a bad schedule is the system checks' to report
            continue
        if isinstance(schedule, IntervalSchedule) and schedule.interval < MINUTE:
            return True
    return False


def next_due(codes: Iterable[str]) -> datetime | None:
    """The earliest next slot or retry of the unpaused jobs ``codes``, as settled in their rows."""
    found = (
        Job.objects.writable()
        .filter(code__in=list(codes), paused=False)
        .aggregate(slot=Min("next_slot"), retry=Min("retry_at"))
    )
    moments = [m for m in (found["slot"], found["retry"]) if m is not None]
    return min(moments) if moments else None


def end_of_minute(moment: datetime) -> datetime:
    """The minute boundary after ``moment``: where cron's next invocation starts."""
    return moment.replace(second=0, microsecond=0) + MINUTE


def stay_in_minute(
    codes: Iterable[str],
    started: datetime,
    run_pass: Callable[[datetime], list],
    *,
    idle: Callable[[datetime], None] | None = None,
    clock: Callable[[], datetime] = timezone.now,
) -> list:
    """Wake at each slot due before the end of ``started``'s minute and run ``run_pass(now)``.

    ``idle(wake)`` spends the wait (runcrons drains tasks in it) and must return by ``wake``;
    the rest of the wait is slept. Returns the outcomes of all passes. SIGTERM or Ctrl-C while
    waiting stops at once; nothing is claimed while waiting.
    """
    codes = list(codes)
    end = end_of_minute(started)
    outcomes: list = []
    last: datetime | None = None
    while True:
        wake = next_due(codes)
        if wake is None or wake >= end or wake == last:  # a due moment the pass did not move: no spinning
            return outcomes
        last = wake
        if idle is not None:
            idle(wake)
        wait_until(wake, clock=clock)
        outcomes.extend(run_pass(clock()))


def wait_until(moment: datetime, *, clock: Callable[[], datetime] = timezone.now) -> None:
    """Sleep until the wall clock reaches ``moment``, in short steps so that signals stop it promptly."""
    while True:
        stops.check()
        left = (moment - clock()).total_seconds()
        if left <= 0:
            return
        stops.sleep(min(left, 0.5))


def seconds_until_next_pass(now: datetime, due: datetime | None) -> float:
    """``--loop``: seconds until the next minute boundary or the next due moment, whichever is first."""
    wake = end_of_minute(now)
    if due is not None:
        wake = min(wake, max(due, now + OVERDUE_PAUSE))
    return max((wake - now).total_seconds(), 0.0)
