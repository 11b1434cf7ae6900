"""runcrons' slot decisions replayed in memory, one invocation a minute, with a fake clock.

The calls are those of ``cronjobs.engine.runner`` (``Runner.plan``, ``_first_seen`` and
``_settle``), made in the same order with the same arguments:

- first sight at ``now``: the watermark is ``now`` and the next slot ``next_after(now)``;
- an invocation at ``now`` with ``next_slot <= now`` asks ``due_slots(schedule, watermark,
  now, catchup, limit=MAX_CATCHUP, grace=CATCHUP_GRACE)``; the newest slot it settles becomes
  the watermark and ``next_after(newest)`` the next slot; its missed slots are recorded and
  the others run;
- an invocation with ``next_slot > now`` does nothing, so the replay goes straight to the
  first invocation at or after the next slot.

Only the database is left out: there is one runner, and every claim succeeds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

from cronjobs.conf import DEFAULTS
from cronjobs.schedules import Schedule, due_slots

MINUTE = timedelta(minutes=1)


@dataclasses.dataclass(frozen=True)
class Record:
    """A slot the runner settled: ``"run"`` or ``"missed"``, at invocation ``at``."""

    slot: datetime
    status: str
    at: datetime
    earlier_missed_too: bool = False
    """The record of the oldest missed slot says older ones beyond ``MAX_CATCHUP`` were missed."""


def delay(minute: datetime) -> timedelta:
    """How long after the minute cron's invocation reads the clock: varies, under a minute."""
    return timedelta(seconds=(minute.hour * 7 + minute.minute * 13) % 50, microseconds=250_000)


def replay(
    schedule: Schedule,
    first: datetime,
    last: datetime,
    *,
    catchup: str = "latest",
    outages: Sequence[tuple[datetime, datetime]] = (),
    limit: int = DEFAULTS["MAX_CATCHUP"],
    grace: timedelta = DEFAULTS["CATCHUP_GRACE"],
) -> list[Record]:
    """Every record of a job first seen by the invocation of minute ``first``, invoked every
    minute up to ``last`` except in ``outages`` (``[start, end)`` in real time)."""
    records: list[Record] = []
    minute = _invoked(first, outages)
    now = minute + delay(minute)
    watermark, next_slot = now, schedule.next_after(now)
    while True:
        minute = _invoked(max(minute + MINUTE, next_slot.replace(second=0, microsecond=0)), outages)
        while minute + delay(minute) < next_slot:  # the first invocation that sees the slot
            minute = _invoked(minute + MINUTE, outages)
        if minute > last:
            return records
        now = minute + delay(minute)
        slots = due_slots(schedule, watermark, now, catchup, limit=limit, grace=grace)
        newest = slots.newest
        if newest is None:
            continue
        watermark, next_slot = newest, schedule.next_after(newest)
        for index, slot in enumerate(slots.missed):
            records.append(Record(slot, "missed", now, earlier_missed_too=slots.more_missed and index == 0))
        records.extend(Record(slot, "run", now) for slot in slots.run)


def _minute_up(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + MINUTE


def _invoked(minute: datetime, outages: Sequence[tuple[datetime, datetime]]) -> datetime:
    """The first minute from ``minute`` on at which cron's invocation of runcrons happens."""
    for start, end in outages:
        if start <= minute < end:
            minute = _minute_up(end)
    return minute
