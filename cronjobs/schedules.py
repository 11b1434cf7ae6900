"""Slot times: cron expressions (through cronsim) and fixed intervals.

Everything here is pure: time comes in as an argument, nothing reads the clock.
Slot times are returned as aware datetimes in UTC.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from cronjobs.exceptions import ScheduleError

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: The nicknames cron understands, as the five-field expressions they stand for.
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def _check_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got {moment!r}")


class Schedule:
    """The slot times of one job."""

    #: Identifies the schedule: a job whose key changes has its next slot recomputed.
    key: str

    def next_after(self, moment: datetime) -> datetime:
        """The first slot strictly after ``moment``."""
        raise NotImplementedError

    def slots_back(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Slots in ``(after, until]``, newest first."""
        raise NotImplementedError

    def describe(self) -> str:
        """The schedule in words."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class CronSchedule(Schedule):
    """A five-field cron expression evaluated in an IANA time zone (Debian cron's DST rules)."""

    expression: str
    """The expression as written (a nickname is kept as written)."""
    zone: str
    """IANA zone name the fields are read in."""

    def __post_init__(self) -> None:
        fields = NICKNAMES.get(self.expression.strip().lower(), self.expression)
        object.__setattr__(self, "fields", " ".join(fields.split()))
        object.__setattr__(self, "tz", _zone(self.zone))
        if self.expression.strip().lower() == "@reboot":
            raise ScheduleError(
                "@reboot is not supported: runcrons runs every minute and has no notion of a "
                "boot; use a @daily job, or your init system, instead"
            )
        if self.fields.startswith("@"):
            raise ScheduleError(f"unknown nickname {self.expression!r}; use one of {', '.join(sorted(NICKNAMES))}")
        if len(self.fields.split()) != 5:
            raise ScheduleError(
                f"{self.expression!r} has {len(self.fields.split())} fields; a cron expression "
                "has five: minute hour day-of-month month day-of-week"
            )
        problem = _cron_problem(self.fields)
        if problem:
            raise ScheduleError(f"{self.expression!r}: {problem}")

    fields: str = dataclasses.field(init=False, repr=False, compare=False)
    tz: ZoneInfo = dataclasses.field(init=False, repr=False, compare=False)

    @property
    def key(self) -> str:  # type: ignore[override]
        return f"cron:{self.fields}@{self.zone}"

    def next_after(self, moment: datetime) -> datetime:
        _check_aware(moment)
        start = moment.astimezone(self.tz).replace(microsecond=0)
        return next(CronSim(self.fields, start)).astimezone(UTC)

    def slots_back(self, after: datetime, until: datetime) -> Iterator[datetime]:
        _check_aware(after)
        _check_aware(until)
        # cronsim's reverse iteration is strictly before its start: start one second later.
        start = until.astimezone(self.tz).replace(microsecond=0) + timedelta(seconds=1)
        for slot in CronSim(self.fields, start, reverse=True):
            slot = slot.astimezone(UTC)
            if slot <= after:
                return
            yield slot

    def describe(self) -> str:
        words = CronSim(self.fields, datetime(2000, 1, 1, tzinfo=self.tz)).explain()
        return f"{words} ({self.zone})"


@dataclasses.dataclass(frozen=True)
class IntervalSchedule(Schedule):
    """Every ``interval`` in absolute time, aligned to the Unix epoch."""

    interval: timedelta
    """The distance between two slots; positive, whole seconds."""

    def __post_init__(self) -> None:
        if not isinstance(self.interval, timedelta):
            raise ScheduleError(f"interval must be a timedelta, not {type(self.interval).__name__}")
        if self.interval <= timedelta(0):
            raise ScheduleError(f"interval must be positive, got {self.interval}")
        if self.interval % timedelta(seconds=1):
            raise ScheduleError(f"interval must be whole seconds, got {self.interval}")

    @property
    def key(self) -> str:  # type: ignore[override]
        return f"interval:{int(self.interval.total_seconds())}"

    def _index(self, moment: datetime) -> int:
        _check_aware(moment)
        return (moment - EPOCH) // self.interval

    def next_after(self, moment: datetime) -> datetime:
        return EPOCH + (self._index(moment) + 1) * self.interval

    def slots_back(self, after: datetime, until: datetime) -> Iterator[datetime]:
        first = self._index(after)
        index = self._index(until)
        while index > first:
            yield EPOCH + index * self.interval
            index -= 1

    def count_between(self, after: datetime, until: datetime) -> int:
        """How many slots lie in ``(after, until]``."""
        return max(0, self._index(until) - self._index(after))

    def describe(self) -> str:
        return f"every {_words(self.interval)}"


@functools.lru_cache(maxsize=4096)
def _cron_problem(fields: str) -> str | None:
    """What cronsim says is wrong with five cron fields, or None (cached: jobs share expressions)."""
    try:
        CronSim(fields, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        return str(exc)
    return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Berlin'") from None


def _words(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    raise AssertionError("unreachable")  # pragma: no cover


@dataclasses.dataclass(frozen=True)
class DueSlots:
    """What a job owes at a moment: slots to run and slots to record as missed."""

    run: list[datetime]
    """Slots to run, oldest first."""
    missed: list[datetime]
    """Slots to record as missed, oldest first (at most ``limit`` of them)."""
    more_missed: bool
    """True when older missed slots exist beyond those listed."""

    @property
    def newest(self) -> datetime | None:
        """The newest slot settled by this decision, run or missed."""
        slots = self.run + self.missed
        return max(slots) if slots else None


def due_slots(
    schedule: Schedule,
    after: datetime,
    now: datetime,
    catchup: str,
    *,
    limit: int = 100,
    grace: timedelta = timedelta(minutes=2),
) -> DueSlots:
    """Decide which slots in ``(after, now]`` run and which are recorded as missed.

    ``catchup`` is ``"latest"`` (run the newest, the others are missed), ``"all"`` (run up to
    ``limit`` of the newest, oldest first) or ``"none"`` (run the newest only if it came due
    within ``grace``). Never looks at more than ``limit + 1`` slots, so a long outage costs
    no more than a short one.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    newest_first: list[datetime] = []
    for slot in schedule.slots_back(after, now):
        newest_first.append(slot)
        if len(newest_first) > limit:
            break
    more = len(newest_first) > limit
    slots = list(reversed(newest_first[:limit]))
    if not slots:
        return DueSlots([], [], False)
    if catchup == "all":
        return DueSlots(slots, [], more)
    if catchup == "latest":
        return DueSlots(slots[-1:], slots[:-1], more)
    if catchup == "none":
        if now - slots[-1] <= grace:
            return DueSlots(slots[-1:], slots[:-1], more)
        return DueSlots([], slots, more)
    raise ValueError(f"catchup must be 'latest', 'all' or 'none', not {catchup!r}")
