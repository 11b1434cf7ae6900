"""When Debian cron would run a job: the independent reference of the slot tests.

Nothing here uses cronjobs' schedule code. cronsim serves only as a calendar: which wall-clock
minutes (naive datetimes, no zone, so none of its daylight-saving handling) match five fields.
The daylight-saving rule is Debian cron's main loop (``cron.c``), replayed once per real
minute. cron wakes every minute, reads the wall clock in whole local minutes (``timeRunning``)
and compares it with its own clock (``virtualTime``), the last minute it handled:

- one minute on: the normal case, every job matching the new minute runs;
- 2 to 5 minutes on ("small": it woke up late): every job, for each minute passed;
- 6 to 180 minutes on ("medium": spring forward): wildcard jobs for the current minute only,
  fixed-time jobs for each minute skipped and for the current one;
- 0 to 180 minutes back ("negative": fall back): wildcard jobs for the current minute; the
  virtual clock stays where it is until the wall clock passes it again;
- anything else: the clock was set; the virtual clock jumps there, every job runs for it.

A job is a wildcard job when its minute or hour field starts with ``*`` (entry.c sets
``MIN_STAR`` or ``HR_STAR``; of the nicknames only ``@hourly`` sets ``HR_STAR``).

Times are whole minutes as integers: real time in minutes since the Unix epoch (UTC), wall
time in minutes since 1970-01-01 00:00 on the wall clock.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from cronsim import CronSim

UTC = timezone.utc
WALL_EPOCH = datetime(1970, 1, 1)

#: Debian's entry.c: the five fields each nickname sets, and whether it sets MIN_STAR/HR_STAR.
NICKNAMES = {
    "@yearly": ("0 0 1 1 *", False),
    "@annually": ("0 0 1 1 *", False),
    "@monthly": ("0 0 1 * *", False),
    "@weekly": ("0 0 * * 0", False),
    "@daily": ("0 0 * * *", False),
    "@midnight": ("0 0 * * *", False),
    "@hourly": ("0 * * * *", True),
}


def parse(expression: str) -> tuple[str, bool]:
    """The five fields of an expression or nickname, and whether it is a wildcard job."""
    if expression in NICKNAMES:
        return NICKNAMES[expression]
    minute, hour = expression.split()[:2]
    return expression, minute.startswith("*") or hour.startswith("*")


def minute_of(moment: datetime) -> int:
    """An aware datetime on a whole minute as real minutes since the epoch."""
    assert moment.second == 0 and moment.microsecond == 0, moment
    return int(moment.timestamp()) // 60


def moment_of(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


@functools.lru_cache(maxsize=256)
def matching_walls(fields: str, first: int, last: int) -> tuple[int, ...]:
    """Wall minutes in ``[first, last]`` that match ``fields``: cronsim's naive forward iteration."""
    found = []
    start = WALL_EPOCH + timedelta(minutes=first) - timedelta(seconds=1)
    for wall in CronSim(fields, start):
        minute = (wall - WALL_EPOCH) // timedelta(minutes=1)
        if minute > last:
            break
        found.append(minute)
    return tuple(found)


@dataclasses.dataclass(frozen=True)
class Span:
    """Real minutes ``[first, end)`` in the normal case: each handles wall minute ``m + offset``."""

    first: int
    end: int
    offset: int


@dataclasses.dataclass(frozen=True)
class Check:
    """At real minute ``at``, cron handles wall minute ``wall`` for wildcard and/or fixed-time jobs."""

    at: int
    wall: int
    wildcard: bool
    fixed: bool


def _offset(zone: ZoneInfo, minute: int) -> int:
    offset = datetime.fromtimestamp(minute * 60, zone).utcoffset()
    assert offset is not None and offset % timedelta(minutes=1) == timedelta(0), (zone, offset)
    return offset // timedelta(minutes=1)


def _changes(zone: ZoneInfo, first: int, last: int) -> list[tuple[int, int]]:
    """(real minute, new offset) of each change of the zone's offset in ``(first, last]``."""
    changes = []
    hour = first
    previous = _offset(zone, first)
    while hour < last:
        following = min(hour + 60, last)
        offset = _offset(zone, following)
        if offset != previous:
            low, high = hour, following  # the offset at low is ``previous``, at high the new one
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(zone, middle) == previous:
                    low = middle
                else:
                    high = middle
            changes.append((high, offset))
            previous = offset
        hour = following
    return changes


@functools.lru_cache(maxsize=64)
def debian_clock(zone_name: str, first: int, last: int) -> tuple[Span | Check, ...]:
    """What Debian cron's main loop handles in real minutes ``[first, last]`` in ``zone_name``.

    cron is taken to be running, caught up, since before ``first``.
    """
    zone = ZoneInfo(zone_name)
    steps: list[Span | Check] = []
    minute = first
    offset = _offset(zone, first)
    for change, new_offset in _changes(zone, first, last):
        assert change >= minute, "two changes of the offset closer than cron catches up"
        steps.append(Span(minute, change, offset))
        virtual = change - 1 + offset
        minute, offset = change, new_offset
        while minute <= last:
            running = minute + offset
            diff = running - virtual
            if diff == 1:
                break  # caught up: the normal case again
            if 1 < diff <= 5:
                steps.extend(Check(minute, wall, True, True) for wall in range(virtual + 1, running + 1))
                virtual = running
            elif 5 < diff <= 180:
                steps.append(Check(minute, running, True, False))
                steps.extend(Check(minute, wall, False, True) for wall in range(virtual + 1, running + 1))
                virtual = running
            elif -180 <= diff <= 0:
                steps.append(Check(minute, running, True, False))
            else:
                virtual = running
                steps.append(Check(minute, running, True, True))
            minute += 1
    steps.append(Span(minute, last + 1, offset))
    return tuple(steps)


def debian_runs(expression: str, zone_name: str, first: datetime, last: datetime) -> list[datetime]:
    """The real minutes in ``[first, last]`` at which Debian cron runs the job (each once).

    Several runs in one minute (fixed-time jobs caught up after a gap) count once: a slot is
    a moment, and cronjobs runs a slot once.
    """
    fields, wildcard = parse(expression)
    start, end = minute_of(first), minute_of(last)
    # Wall time is within a day of real time in any zone; whole days let runs share the calendar.
    day = 24 * 60
    walls = matching_walls(fields, (start // day - 1) * day, (end // day + 2) * day)
    found: set[int] = set()
    for step in debian_clock(zone_name, start, end):
        if isinstance(step, Span):
            low = bisect.bisect_left(walls, step.first + step.offset)
            high = bisect.bisect_left(walls, step.end + step.offset)
            found.update(wall - step.offset for wall in walls[low:high])
        elif (step.wildcard if wildcard else step.fixed) and _contains(walls, step.wall):
            found.add(step.at)
    return [moment_of(minute) for minute in sorted(found)]


def _contains(walls: tuple[int, ...], wall: int) -> bool:
    index = bisect.bisect_left(walls, wall)
    return index < len(walls) and walls[index] == wall
