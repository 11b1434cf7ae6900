"""Properties of the slot arithmetic for any expression, in any zone, around any change.

hypothesis draws cron expressions of every field form, a zone among all the system knows, and
a moment (most often near a change of that zone's offset); the slots must be Debian cron's
(tests/debian_cron.py) and the schedule's functions must agree with one another.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cronjobs.exceptions import ScheduleError
from cronjobs.schedules import CronSchedule, due_slots
from tests.support.debian_cron import _changes, debian_runs, minute_of, moment_of

pytestmark = pytest.mark.slow

UTC = timezone.utc
# Zones whose offsets are whole minutes from 1980 on (Debian cron counts in minutes).
ZONES = sorted(zone for zone in zoneinfo.available_timezones() if not zone.startswith(("posix/", "right/")))
PROPERTIES = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


def field(low: int, high: int, names: list[str] | None = None) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    pair = st.tuples(number, number).map(sorted)
    forms = [
        st.just("*"),
        st.integers(2, max(2, (high - low) // 2)).map(lambda n: f"*/{n}"),
        number.map(str),
        pair.map(lambda p: f"{p[0]}-{p[1]}"),
        st.tuples(pair, st.integers(1, 5)).map(lambda t: f"{t[0][0]}-{t[0][1]}/{t[1]}"),
        st.lists(number, min_size=2, max_size=4, unique=True).map(lambda ns: ",".join(map(str, sorted(ns)))),
    ]
    if names:
        forms.append(st.sampled_from(names))
        forms.append(st.tuples(st.sampled_from(names), st.sampled_from(names)).map(lambda t: f"{t[0]},{t[1]}"))
    return st.one_of(forms)


expressions = st.one_of(
    st.tuples(
        field(0, 59),
        field(0, 23),
        st.one_of(field(1, 31), st.sampled_from(["L", "LW", "15W"])),
        field(1, 12, MONTHS),
        st.one_of(field(0, 6, DAYS), st.sampled_from(["5L", "MON#2", "SUN#1", "MON-FRI"])),
    ).map(" ".join),
    st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly", "@yearly"]),
)


#: Zones with daylight saving time or other changes worth a closer look; the others are drawn too.
CHANGING = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Tehran",
    "Pacific/Kiritimati",
    "Antarctica/Casey",
    "America/Santiago",
    "America/Havana",
    "Asia/Beirut",
    "Europe/Dublin",
    "Africa/Casablanca",
]


@st.composite
def moments(draw: st.DrawFn) -> tuple[str, datetime]:
    """A zone and a moment in 1980-2037, most often within 90 minutes of a change of offset."""
    zone = draw(st.one_of(st.sampled_from(CHANGING), st.sampled_from(ZONES)))
    year = draw(st.integers(1980, 2037))
    changes = changes_in(zone, year)
    if changes and draw(st.integers(0, 4)):
        moment = draw(st.sampled_from(changes)) + timedelta(minutes=draw(st.integers(-90, 90)))
    else:
        moment = datetime(year, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 365 * 24 * 60)))
    return zone, moment + timedelta(seconds=draw(st.integers(0, 59)))


@functools.lru_cache(maxsize=1024)
def changes_in(zone: str, year: int) -> list[datetime]:
    first, last = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    return [moment_of(m) for m, _ in _changes(ZoneInfo(zone), minute_of(first), minute_of(last))]


def schedule_of(expression: str, zone: str) -> CronSchedule:
    try:
        return CronSchedule(expression, zone)
    except ScheduleError:
        assume(False)
        raise


def walk(schedule: CronSchedule, start: datetime, end: datetime, cap: int = 400) -> list[datetime]:
    """The slots in ``(start, end]`` by repeated ``next_after``, at most ``cap`` of them."""
    slots, moment = [], start
    while len(slots) < cap:
        moment = schedule.next_after(moment)
        if moment > end:
            break
        slots.append(moment)
    return slots


@PROPERTIES
@given(expressions, moments())
def test_the_slots_around_any_moment_are_those_debian_cron_runs(expression, zone_and_moment):
    zone, moment = zone_and_moment
    schedule = schedule_of(expression, zone)
    start, end = moment - timedelta(hours=4), moment + timedelta(hours=4)
    slots = walk(schedule, start, end)
    assume(len(slots) < 400)
    # Debian's clock starts caught up two hours earlier, before the window's change.
    minute = (start - timedelta(hours=2)).replace(second=0)
    expected = [s for s in debian_runs(expression, zone, minute, end.replace(second=0)) if s > start]
    assert slots == expected


@PROPERTIES
@given(expressions, moments(), st.integers(0, 24 * 60))
def test_slots_back_lists_what_next_after_walks_through_newest_first(expression, zone_and_moment, minutes):
    zone, until = zone_and_moment
    schedule = schedule_of(expression, zone)
    after = until - timedelta(minutes=minutes)
    assert list(schedule.slots_back(after, until)) == walk(schedule, after, until, cap=2000)[::-1]


@PROPERTIES
@given(expressions, moments())
def test_the_next_slot_is_after_the_moment_and_nothing_lies_between(expression, zone_and_moment):
    zone, moment = zone_and_moment
    schedule = schedule_of(expression, zone)
    following = schedule.next_after(moment)
    assert following > moment and following.tzinfo is UTC and following.second == 0
    assert list(schedule.slots_back(moment, following)) == [following]
    assert schedule.next_after(following - timedelta(microseconds=1)) == following


@PROPERTIES
@given(expressions, moments(), st.integers(1, 24 * 60), st.sampled_from(["latest", "all", "none"]), st.integers(1, 20))
def test_due_slots_settles_the_newest_owed_slots_by_the_catchup_policy(
    expression, zone_and_moment, minutes, catchup, limit
):
    zone, now = zone_and_moment
    schedule = schedule_of(expression, zone)
    after = now - timedelta(minutes=minutes)
    owed = walk(schedule, after, now, cap=2000)
    due = due_slots(schedule, after, now, catchup, limit=limit)
    assert due.run == sorted(due.run) and due.missed == sorted(due.missed)
    assert sorted(due.run + due.missed) == owed[-limit:]
    assert due.more_missed == (len(owed) > limit)
    if catchup == "all":
        assert due.missed == []
    elif owed:
        assert due.run in ([], owed[-1:])
        assert due.run or catchup == "none"
