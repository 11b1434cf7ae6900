"""Slot times: cron expressions (through cronsim) and fixed intervals.

Everything here is pure: time comes in as an argument, nothing reads the clock.
Slot times are returned as aware datetimes in UTC.

cronsim matches the five fields against the wall clock, on naive datetimes: a calendar with
no daylight saving time. Which real moments a matching wall-clock time stands for (none, one
or two, when the clocks change) is Debian cron's rule, in ``CronSchedule._slots_at``.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import heapq
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from cronjobs.exceptions import ScheduleError

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)
#: Debian cron (cron.c) takes a wall clock that moved by more than this, counting the minute
#: that passed, for a clock being set rather than daylight saving time.
_JUMP = timedelta(hours=3)

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
        parts = NICKNAMES.get(self.expression.strip().lower(), self.expression).split()
        object.__setattr__(self, "fields", " ".join(parts))
        object.__setattr__(self, "tz", _zone(self.zone))
        if self.expression.strip().lower() == "@reboot":
            raise ScheduleError(
                "@reboot is not supported: runcrons runs every minute and has no notion of a "
                "boot; use a @daily job, or your init system, instead"
            )
        if self.fields.startswith("@"):
            raise ScheduleError(f"unknown nickname {self.expression!r}; use one of {', '.join(sorted(NICKNAMES))}")
        if len(parts) != 5:
            raise ScheduleError(
                f"{self.expression!r} has {len(parts)} fields; a cron expression "
                "has five: minute hour day-of-month month day-of-week"
            )
        problem = _cron_problem(self.fields)
        if problem:
            raise ScheduleError(f"{self.expression!r}: {problem}")
        object.__setattr__(self, "wildcard", parts[0].startswith("*") or parts[1].startswith("*"))

    fields: str = dataclasses.field(init=False, repr=False, compare=False)
    tz: ZoneInfo = dataclasses.field(init=False, repr=False, compare=False)
    wildcard: bool = dataclasses.field(init=False, repr=False, compare=False)
    """``*`` starts the minute or the hour field: Debian cron runs the job on real time."""

    @property
    def key(self) -> str:  # type: ignore[override]
        return f"cron:{self.fields}@{self.zone}"

    def next_after(self, moment: datetime) -> datetime:
        _check_aware(moment)
        local = moment.astimezone(self.tz)
        wall = local.replace(tzinfo=None, microsecond=0)
        if not local.fold:
            # In the first copy of a repeated hour, the second copies of its earlier walls
            # are still to come: start the walk back at the beginning of that hour.
            wall -= _repeat(local)
        best: datetime | None = None  # the earliest second occurrence after moment so far
        for candidate in CronSim(self.fields, wall):
            slots = self._slots_at(candidate)
            if slots and slots[0] > moment:
                # No later wall maps to a slot before this wall's first one.
                return slots[0] if best is None else min(best, slots[0])
            for slot in slots[1:]:
                if slot > moment:
                    if local.fold:  # from the second copy on, second copies come in order
                        return slot
                    best = slot if best is None else min(best, slot)
        raise ScheduleError(f"{self.expression!r} has no slot after {moment.isoformat()}")

    def slots_back(self, after: datetime, until: datetime) -> Iterator[datetime]:
        _check_aware(after)
        _check_aware(until)
        local = until.astimezone(self.tz)
        # cronsim's reverse walk is strictly before its start: start one second later. In the
        # second copy of a repeated hour, the first copies of its later walls have passed too.
        wall = local.replace(tzinfo=None, microsecond=0) + timedelta(seconds=1)
        if local.fold:
            wall += _repeat(local)
        # Walls come newest first, and no older wall maps to a slot after the newest slot of a
        # newer wall; only inside a repeated hour do slots come out of order, so they wait in
        # ``pending`` (ascending) until no older wall can map past them.
        pending: list[datetime] = []
        for candidate in CronSim(self.fields, wall, reverse=True):
            slots = self._slots_at(candidate)
            if not slots:
                continue
            while pending and pending[-1] > slots[-1]:
                yield pending.pop()
            if slots[-1] <= after:
                return
            for slot in slots:
                if after < slot <= until and slot not in pending:
                    bisect.insort(pending, slot)
        yield from reversed(pending)

    def _slots_at(self, wall: datetime) -> tuple[datetime, ...]:
        """The slots (UTC, ascending) of a wall-clock time that matches the fields.

        Debian cron's rule: a wildcard job (``*`` first in the minute or hour field) runs at
        every real moment the wall clock shows a matching time: twice for a time in a repeated
        hour, never for a time in a spring-forward gap. A fixed-time job runs once for each
        matching time: at its first occurrence, or right after the gap that skips it. A change
        of more than three hours is a clock jump, not daylight saving time: every real
        occurrence runs, and a skipped time does not.
        """
        first = wall.replace(tzinfo=self.tz)
        before, after = first.utcoffset(), first.replace(fold=1).utcoffset()
        assert before is not None and after is not None
        if before == after:
            return ((wall - before).replace(tzinfo=UTC),)
        if before > after:  # a repeated time, shown first at offset ``before``, then at ``after``
            if self.wildcard or before - after - _MINUTE > _JUMP:
                return ((wall - before).replace(tzinfo=UTC), (wall - after).replace(tzinfo=UTC))
            return ((wall - before).replace(tzinfo=UTC),)
        if self.wildcard or after - before + _MINUTE > _JUMP:  # a skipped time
            return ()
        return (_gap_end(self.tz, (wall - after).replace(tzinfo=UTC), (wall - before).replace(tzinfo=UTC)),)

    def describe(self) -> str:
        from cronjobs.words import ordinals

        words = CronSim(self.fields, datetime(2000, 1, 1, tzinfo=self.tz)).explain()
        return f"{ordinals(words)} ({self.zone})"


#: The longest interval: its slots, counted from the epoch, stay well inside ``datetime``'s range.
MAX_INTERVAL = timedelta(days=36525)


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
        if self.interval > MAX_INTERVAL:
            # Slots are datetimes: past this, the next one is beyond the year 9999.
            raise ScheduleError(
                f"interval must be at most {MAX_INTERVAL.days} days (about 100 years), got {self.interval}"
            )

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


@dataclasses.dataclass(frozen=True)
class AnySchedule(Schedule):
    """The slots of several schedules together, each once (django-cron's ``run_at_times``:
    11:30, 14:00 and 23:15 are three cron expressions; see :mod:`cronjobs.peers.djangocron`)."""

    parts: tuple[Schedule, ...]

    @property
    def key(self) -> str:  # type: ignore[override]
        return "any:" + "|".join(part.key for part in self.parts)

    def next_after(self, moment: datetime) -> datetime:
        return min(part.next_after(moment) for part in self.parts)

    def slots_back(self, after: datetime, until: datetime) -> Iterator[datetime]:
        previous = None
        for slot in heapq.merge(*(part.slots_back(after, until) for part in self.parts), reverse=True):
            if slot != previous:
                yield slot
            previous = slot

    def describe(self) -> str:
        return "; ".join(part.describe() for part in self.parts)


#: Each field's name, first value and count of values, for the step check.
_FIELDS = (("minute", 0, 60), ("hour", 0, 24), ("day-of-month", 1, 31), ("month", 1, 12), ("day-of-week", 0, 7))


@functools.lru_cache(maxsize=4096)
def _cron_problem(fields: str) -> str | None:
    """What cronsim says is wrong with five cron fields, or None (cached: jobs share expressions)."""
    try:
        CronSim(fields, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        return str(exc)
    for (name, first, count), field in zip(_FIELDS, fields.split(), strict=True):
        for part in field.split(","):
            base, _, step = part.partition("/")
            if base == "*" and step.isdigit() and int(step) >= count:
                # cron accepts it, but only the first value matches: "*/61" fires hourly.
                return (
                    f"the step of {part!r} in the {name} field is not below the field's {count} values, "
                    f"so it only matches {first}; write {first} for that"
                )
    return None


def _repeat(local: datetime) -> timedelta:
    """How long the wall clock repeats around ``local`` (zero outside a repeated hour)."""
    first, second = local.replace(fold=0).utcoffset(), local.replace(fold=1).utcoffset()
    assert first is not None and second is not None
    return max(first - second, timedelta(0))


def _gap_end(tz: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The moment the clock jumps forward: ``before`` is earlier, ``after`` at or later."""
    low, high = int(before.timestamp()), int(after.timestamp())
    offset = after.astimezone(tz).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        close = closest_zone(name)
        use = f"did you mean {close!r}?" if close else "use an IANA name such as 'Europe/Berlin'"
        raise ScheduleError(f"unknown time zone {name!r}; {use}") from None


def unlike_debian_cron(fields: str) -> str | None:
    """What a five-field expression means here and not in Debian's cron, or None when both agree.

    cronsim (and so cronjobs) reads ``#`` (``5#2``: the second Friday of the month) and ``L``
    (``L``: the last day of the month, ``LW`` its last weekday, ``5L`` its last Friday). Debian's
    cron has neither: it reads ``5#2`` as ``5`` (every Friday: what follows a number up to the
    next blank is skipped) and rejects a line with ``L`` (so such a line never runs there).
    """
    parts = fields.split()
    if len(parts) != 5:
        return None
    day, weekday = parts[2].upper(), parts[4].upper()
    said = []
    if "#" in weekday:
        said.append(f"'{parts[4]}' uses '#', which Debian's cron ignores: it runs on every such weekday")
    if "L" in day or "L" in weekday:
        field = parts[2] if "L" in day else parts[4]
        said.append(f"'{field}' uses 'L', which Debian's cron rejects: it does not run such a line at all")
    return "; ".join(said) or None


def closest_zone(name: object) -> str | None:
    """The IANA zone name closest to a misspelt ``name`` (``'Europe/Berln'``: ``'Europe/Berlin'``), if any."""
    import difflib
    from zoneinfo import available_timezones

    if not isinstance(name, str):
        return None
    zones = sorted(available_timezones())
    by_case = {zone.lower(): zone for zone in zones}
    if name.lower() in by_case:  # 'europe/berlin': the zone database is case-sensitive on Linux
        return by_case[name.lower()]
    close = difflib.get_close_matches(name, zones, n=1, cutoff=0.8)
    if close:
        return close[0]
    cities = {zone.rsplit("/", 1)[-1].lower(): zone for zone in zones if "/" in zone}  # 'Berlin'
    close = difflib.get_close_matches(name.lower(), sorted(cities), n=1, cutoff=0.8)
    return cities[close[0]] if close else None


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
