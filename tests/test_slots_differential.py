"""runcrons' slots against Debian cron's, for a year of invocations in zones that change.

The runs come from replaying the runner's calls (``due_slots``, ``next_after``, the
watermark) once a real minute with a fake clock (tests/runner_replay.py); the reference is
built without cronjobs' schedule code, from cronsim's calendar and Debian cron's main loop
(tests/debian_cron.py). Expressions are split in two corpora: sparse ones are replayed for a
whole year; dense ones (every minute, every few minutes, every hour) around each change of
the zone's offset, since between changes a zone is as plain as UTC.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from cronjobs import BaseCronJob
from cronjobs.ops import simulation
from cronjobs.schedules import CronSchedule
from tests.support.debian_cron import _changes, debian_runs, minute_of, moment_of
from tests.support.runner_replay import MINUTE, Record, delay, replay

pytestmark = pytest.mark.slow

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # changes by 30 minutes
    "Pacific/Chatham",  # +12:45, changes at 02:45
    "Asia/Tehran",  # no daylight saving time since 2023
    "Pacific/Kiritimati",  # +14:00
]
#: (zone, first, last): the year 2026 everywhere, and years in which rules changed.
CASES = [(zone, utc(2026, 1, 1), utc(2027, 1, 1)) for zone in ZONES] + [
    ("Asia/Tehran", utc(2022, 1, 1), utc(2023, 1, 1)),  # its last changes, at midnight
    ("Pacific/Kiritimati", utc(1994, 7, 1), utc(1995, 7, 1)),  # skipped 1994-12-31
]
CASE_IDS = [f"{zone}-{first:%Y}" for zone, first, _ in CASES]

#: Every field form: lists, ranges, steps, ranges with steps, names, nicknames, the day OR
#: rule, L, LW, nth and last weekday; times in and around the hours that change.
SPARSE = [
    "30 2 * * *",
    "0 2 * * *",
    "30 1 * * *",
    "0 3 * * *",
    "15 2 * * *",
    "45 1 * * *",
    "30 23 * * *",
    "0,30 2 * * 0",
    "*/30 2 * * 0",
    "15 * * * 0",
    "0 9-17/4 * * MON-FRI",
    "15 3,15 1,15 * *",
    "0 4 13 * FRI",
    "0 4 */10 * *",
    "30 5 * JAN,JUL *",
    "0 1 1 1-12/3 *",
    "0 6 L * *",
    "0 6 LW * *",
    "0 6 * * 5L",
    "0 6 * * MON#2",
    "59 23 31 12 *",
    "0 0 29 2 *",
    "@daily",
    "@midnight",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
]
DENSE = [
    "* * * * *",
    "*/15 * * * *",
    "*/10 * * * *",
    "@hourly",
    "15 * * * *",
    "* 2 * * *",
    "*/15 1-3 * * *",
    "0,30 1-3 * * *",
    "0-59/7 0-23/2 * * *",
    "*/7 */2 * * *",
    "*/20 23 * * *",
    "* 0 * * *",
]


def runs(expression: str, zone: str, first: datetime, last: datetime) -> tuple[list[datetime], list[Record]]:
    """Debian cron's runs after the job is first seen, and the replayed runner's records."""
    records = replay(CronSchedule(expression, zone), first, last)
    seen = first + delay(first)
    return [slot for slot in debian_runs(expression, zone, first, last) if slot > seen], records


def around_changes(zone: str, first: datetime, last: datetime) -> list[tuple[datetime, datetime]]:
    """Windows from eight hours before to eight hours after each change of the zone's offset."""
    changes = [moment_of(minute) for minute, _ in _changes(ZoneInfo(zone), minute_of(first), minute_of(last))]
    return [(change - timedelta(hours=8), change + timedelta(hours=8)) for change in changes] or [
        (first + timedelta(days=150), first + timedelta(days=150, hours=16))
    ]


@pytest.mark.parametrize("expression", SPARSE)
@pytest.mark.parametrize(("zone", "first", "last"), CASES, ids=CASE_IDS)
def test_a_year_of_runcrons_every_minute_runs_exactly_the_slots_debian_cron_runs(expression, zone, first, last):
    expected, records = runs(expression, zone, first, last)
    assert [r for r in records if r.status != "run"] == []
    assert [r.slot for r in records] == expected


@pytest.mark.parametrize("expression", DENSE)
@pytest.mark.parametrize(("zone", "first", "last"), CASES, ids=CASE_IDS)
def test_around_each_change_of_the_offset_runcrons_runs_exactly_the_slots_debian_cron_runs(
    expression, zone, first, last
):
    for start, end in around_changes(zone, first, last):
        expected, records = runs(expression, zone, start, end)
        assert [r for r in records if r.status != "run"] == [], start
        assert [r.slot for r in records] == expected, start


# -- outages ---------------------------------------------------------------------------------


def expected_records(
    slots: list[datetime],
    first: datetime,
    last: datetime,
    outages: Sequence[tuple[datetime, datetime]],
    catchup: str,
    limit: int,
    grace: timedelta,
) -> list[Record]:
    """What the catch-up policies make of Debian cron's slots, invoked as the replay is.

    At each invocation, the slots that passed since the newest settled one are owed; of
    them, the newest ``limit`` are settled: ``latest`` runs the newest and records the others
    as missed; ``all`` runs them; ``none`` runs the newest only when it came due within
    ``grace``. The oldest missed record says so when older slots were not looked at.
    """
    records: list[Record] = []
    settled = first + delay(first)
    minute = first + MINUTE
    while minute <= last:
        if any(start <= minute < end for start, end in outages):
            minute += MINUTE
            continue
        now = minute + delay(minute)
        owed = slots[bisect.bisect_right(slots, settled) : bisect.bisect_right(slots, now)]
        minute += MINUTE
        if not owed:
            continue
        more, owed = len(owed) > limit, owed[-limit:]
        settled = owed[-1]
        if catchup == "all":
            records.extend(Record(slot, "run", now) for slot in owed)
            continue
        fresh = catchup == "latest" or now - owed[-1] <= grace
        missed = owed[:-1] if fresh else owed
        records.extend(Record(slot, "missed", now, earlier_missed_too=more and i == 0) for i, slot in enumerate(missed))
        if fresh:
            records.append(Record(owed[-1], "run", now))
    return records


OUTAGES = [
    # Down from before Berlin's repeated hour into its second copy.
    (
        "*/15 * * * *",
        "Europe/Berlin",
        utc(2026, 10, 24, 22, 0),
        [(utc(2026, 10, 24, 23, 40), utc(2026, 10, 25, 1, 20))],
    ),
    # Down across New York's repeated hour, back in its second copy: 01:30 EDT ran during the outage.
    ("30 1 * * *", "America/New_York", utc(2026, 10, 31, 20, 0), [(utc(2026, 11, 1, 5, 10), utc(2026, 11, 1, 6, 20))]),
    # Down across Berlin's spring-forward gap.
    ("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 20, 0), [(utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30))]),
    # Down in Lord Howe's repeated half hour, twice.
    (
        "*/10 * * * *",
        "Australia/Lord_Howe",
        utc(2026, 4, 4, 12, 0),
        [(utc(2026, 4, 4, 14, 35), utc(2026, 4, 4, 15, 5)), (utc(2026, 4, 4, 15, 12), utc(2026, 4, 4, 15, 31))],
    ),
    # Down for three hours around Sydney's fall back: more slots than MAX_CATCHUP looks at.
    ("*/1 * * * *", "Australia/Sydney", utc(2026, 4, 4, 14, 0), [(utc(2026, 4, 4, 15, 0), utc(2026, 4, 4, 18, 0))]),
    # Back one minute after the second 03:00 of Chatham's fall back (14:15 UTC, within
    # CATCHUP_GRACE), then five minutes after a slot.
    (
        "0 * * * *",
        "Pacific/Chatham",
        utc(2026, 4, 4, 10, 0),
        [(utc(2026, 4, 4, 13, 30), utc(2026, 4, 4, 14, 16)), (utc(2026, 4, 4, 14, 30), utc(2026, 4, 4, 16, 20))],
    ),
]


@pytest.mark.parametrize("limit", [100, 5])
@pytest.mark.parametrize("catchup", ["latest", "all", "none"])
@pytest.mark.parametrize(("expression", "zone", "first", "outages"), OUTAGES, ids=[f"{o[0]}-{o[1]}" for o in OUTAGES])
def test_after_an_outage_the_catchup_policy_settles_debian_crons_slots(
    expression, zone, first, outages, catchup, limit
):
    last = first + timedelta(hours=12)
    grace = timedelta(minutes=2)
    records = replay(
        CronSchedule(expression, zone), first, last, catchup=catchup, outages=outages, limit=limit, grace=grace
    )
    slots = debian_runs(expression, zone, first, last)
    assert records == expected_records(slots, first, last, outages, catchup, limit, grace)
    # Each outage hid a slot: the first invocation after it settles something.
    assert all(any(end <= r.at < end + MINUTE for r in records) for _, end in outages)


# -- the real runner -------------------------------------------------------------------------
#
# The same comparisons with the real Runner (claims, watermark, records in a database) instead of
# the replay of its calls: cronjobs.ops.simulation runs it against a throwaway SQLite database
# with a simulated clock, invoked at the same moments as the replay. A year of one fixed-time
# expression in every zone, each dense expression around Berlin's and Lord Howe's changes, and
# every outage with each catch-up policy. (The replay covers the whole corpus; these show that
# the replay is what the runner does.)

#: The year-long cases of the real runner: 30-minute and 45-minute changes, changes of rules.
REAL_CASES = [
    c
    for c in CASES
    if f"{c[0]}-{c[1]:%Y}"
    in {
        "Europe/Berlin-2026",
        "Australia/Lord_Howe-2026",
        "Pacific/Chatham-2026",
        "Asia/Tehran-2022",
        "Pacific/Kiritimati-1994",
    }
]
#: Dense expressions for the real runner around the changes (a wildcard minute costs a run a minute).
REAL_DENSE = ["*/15 * * * *", "*/10 * * * *", "@hourly", "*/15 1-3 * * *", "0,30 1-3 * * *", "*/20 23 * * *"]


def simulated(
    expression: str,
    zone: str,
    first: datetime,
    last: datetime,
    blocker,
    *,
    catchup: str = "latest",
    outages: Sequence[tuple[datetime, datetime]] = (),
    limit: int = 100,
) -> list[Record]:
    """The real runner's records of a job first seen by the invocation of minute ``first``."""
    job = type(
        "Simulated", (BaseCronJob,), {"schedule": expression, "timezone": zone, "catchup": catchup, "code": "sim"}
    )
    settings = {"AUTODISCOVER": False, "MAX_CATCHUP": limit, "CATCHUP_GRACE": timedelta(minutes=2)}
    with blocker.unblock(), override_settings(CRONJOBS=settings):
        # First sight at the replay's first invocation: one second before the simulation starts.
        result = simulation.simulate(
            {"sim": job}, first + delay(first) + timedelta(seconds=1), last, outages, delay=delay
        )
    return [
        Record(
            step.slot,
            "run" if step.status in ("run", "caught up") else step.status,
            step.at,
            earlier_missed_too="were missed too" in step.message,
        )
        for step in result.steps
    ]


@pytest.mark.parametrize(("zone", "first", "last"), REAL_CASES, ids=[f"{z}-{f:%Y}" for z, f, _ in REAL_CASES])
def test_a_year_of_the_real_runner_every_minute_runs_exactly_the_slots_debian_cron_runs(
    zone, first, last, django_db_blocker
):
    expected, records = runs("30 2 * * *", zone, first, last)
    assert simulated("30 2 * * *", zone, first, last, django_db_blocker) == records
    assert [r.slot for r in records] == expected


@pytest.mark.parametrize("expression", REAL_DENSE)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "Australia/Lord_Howe"])
def test_around_each_change_of_the_offset_the_real_runner_runs_exactly_the_slots_debian_cron_runs(
    expression, zone, django_db_blocker
):
    for start, end in around_changes(zone, utc(2026, 1, 1), utc(2027, 1, 1)):
        expected, records = runs(expression, zone, start, end)
        assert simulated(expression, zone, start, end, django_db_blocker) == records, start
        assert [r.slot for r in records] == expected, start


@pytest.mark.parametrize("limit", [100, 5])
@pytest.mark.parametrize("catchup", ["latest", "all", "none"])
@pytest.mark.parametrize(("expression", "zone", "first", "outages"), OUTAGES, ids=[f"{o[0]}-{o[1]}" for o in OUTAGES])
def test_after_an_outage_the_real_runner_settles_debian_crons_slots_by_the_catchup_policy(
    expression, zone, first, outages, catchup, limit, django_db_blocker
):
    last = max(end for _, end in outages) + timedelta(hours=1)
    records = simulated(expression, zone, first, last, django_db_blocker, catchup=catchup, outages=outages, limit=limit)
    slots = debian_runs(expression, zone, first, last)
    assert records == expected_records(slots, first, last, outages, catchup, limit, timedelta(minutes=2))


@pytest.mark.parametrize(
    ("expression", "zone", "first", "last"),
    [
        # The repeated hours of tests/test_dst_processes.py, invoked every minute: Berlin's
        # 2026-10-25 (03:00 CEST becomes 02:00 CET at 01:00 UTC), New York's 2026-11-01 (02:00
        # EDT becomes 01:00 EST at 06:00 UTC), and Berlin's gap of 2026-03-29.
        ("*/15 * * * *", "Europe/Berlin", utc(2026, 10, 24, 23, 59), utc(2026, 10, 25, 2, 0)),
        ("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 23, 59), utc(2026, 10, 25, 2, 0)),
        ("*/10 * * * *", "America/New_York", utc(2026, 11, 1, 4, 59), utc(2026, 11, 1, 7, 0)),
        ("*/15 * * * *", "Europe/Berlin", utc(2026, 3, 29, 0, 44), utc(2026, 3, 29, 1, 16)),
        ("30 2 * * *", "Europe/Berlin", utc(2026, 3, 29, 0, 44), utc(2026, 3, 29, 1, 16)),
    ],
    ids=lambda value: value if isinstance(value, str) else f"{value:%m-%d}",
)
def test_every_minute_through_a_change_the_real_runner_runs_each_real_slot_once(
    expression, zone, first, last, django_db_blocker
):
    expected, records = runs(expression, zone, first, last)
    assert simulated(expression, zone, first, last, django_db_blocker) == records
    assert [r for r in records if r.status != "run"] == []
    assert [r.slot for r in records] == expected
