"""Slots across daylight-saving changes and other changes of a zone's offset (pure functions).

Debian cron's rule: a job with ``*`` first in its minute or hour field runs on every real
occurrence of a matching wall-clock time (both copies of a repeated hour, none in a gap); a
job at fixed times runs once on the fall-back day and right after a spring-forward gap. The
scenarios replay runcrons invoked every minute (tests/runner_replay.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cronjobs.schedules import CronSchedule, due_slots
from tests.support.runner_replay import replay

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)  # type: ignore[misc]


def every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    slots, moment = [], start
    while moment <= end:
        slots.append(moment)
        moment += step
    return slots


def ran(schedule: CronSchedule, first: datetime, last: datetime, **options) -> list[datetime]:
    records = replay(schedule, first, last, **options)
    assert [r for r in records if r.status != "run"] == []
    return [r.slot for r in records]


def test_every_quarter_hour_of_berlins_repeated_hour_runs_in_both_copies():
    # 2026-10-25: 03:00 CEST becomes 02:00 CET; 00:00-02:00 UTC holds nine real quarter hours.
    slots = ran(CronSchedule("*/15 * * * *", "Europe/Berlin"), utc(2026, 10, 24, 23, 59), utc(2026, 10, 25, 2, 0))
    assert slots == every(utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 0), timedelta(minutes=15))
    assert len(slots) == 9


def test_every_ten_minutes_of_new_yorks_repeated_hour_runs_in_both_copies():
    # 2026-11-01: 02:00 EDT becomes 01:00 EST; 05:00-07:00 UTC holds thirteen real slots.
    slots = ran(CronSchedule("*/10 * * * *", "America/New_York"), utc(2026, 11, 1, 4, 59), utc(2026, 11, 1, 7, 0))
    assert slots == every(utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 7, 0), timedelta(minutes=10))
    assert len(slots) == 13


@pytest.mark.parametrize(
    ("zone", "first", "last"),
    [
        ("Europe/Berlin", utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 3, 0)),
        ("America/New_York", utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 8, 0)),
        ("Australia/Sydney", utc(2026, 4, 4, 14, 0), utc(2026, 4, 4, 18, 0)),
        ("Australia/Lord_Howe", utc(2026, 4, 4, 13, 0), utc(2026, 4, 4, 17, 0)),
        ("Pacific/Chatham", utc(2026, 4, 4, 12, 0), utc(2026, 4, 4, 16, 0)),
    ],
)
def test_a_job_every_minute_runs_every_real_minute_through_the_fall_back(zone, first, last):
    slots = ran(CronSchedule("* * * * *", zone), first, last)
    assert slots == every(first + timedelta(minutes=1), last, timedelta(minutes=1))


def test_a_job_in_lord_howes_repeated_half_hour_runs_the_hour_after_it():
    # 2026-04-05: 02:00 (+11) becomes 01:30 (+10:30). 01:30-01:59 comes twice, then 02:00.
    slots = ran(CronSchedule("*/15 1-2 * * *", "Australia/Lord_Howe"), utc(2026, 4, 4, 13, 50), utc(2026, 4, 4, 16, 50))
    zone = "Australia/Lord_Howe"
    assert slots == [
        local(zone, 2026, 4, 5, 1, 0),
        local(zone, 2026, 4, 5, 1, 15),
        local(zone, 2026, 4, 5, 1, 30, fold=0),
        local(zone, 2026, 4, 5, 1, 45, fold=0),
        local(zone, 2026, 4, 5, 1, 30, fold=1),
        local(zone, 2026, 4, 5, 1, 45, fold=1),
        local(zone, 2026, 4, 5, 2, 0),
        local(zone, 2026, 4, 5, 2, 15),
        local(zone, 2026, 4, 5, 2, 30),
        local(zone, 2026, 4, 5, 2, 45),
    ]


def test_a_fixed_time_job_runs_once_on_the_fall_back_day():
    for expression, zone, first, last, expected in [
        (
            "30 2 * * *",
            "Europe/Berlin",
            utc(2026, 10, 24, 12),
            utc(2026, 10, 25, 12),
            local("Europe/Berlin", 2026, 10, 25, 2, 30),
        ),
        (
            "30 1 * * *",
            "America/New_York",
            utc(2026, 10, 31, 12),
            utc(2026, 11, 1, 12),
            local("America/New_York", 2026, 11, 1, 1, 30),
        ),
        (
            "45 1 * * *",
            "Australia/Lord_Howe",
            utc(2026, 4, 4, 0),
            utc(2026, 4, 5, 0),
            local("Australia/Lord_Howe", 2026, 4, 5, 1, 45),
        ),
        ("0,30 1-3 * * *", "Europe/Berlin", utc(2026, 10, 25, 0, 50), utc(2026, 10, 25, 1, 50), None),
    ]:
        slots = ran(CronSchedule(expression, zone), first, last)
        assert slots == ([expected] if expected else []), (expression, zone)


@pytest.mark.parametrize(
    ("expression", "zone", "first", "expected"),
    [
        # Berlin 2026-03-29: 02:00 CET becomes 03:00 CEST.
        ("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12), local("Europe/Berlin", 2026, 3, 29, 3, 0)),
        # New York 2026-03-08: 02:00 EST becomes 03:00 EDT.
        ("30 2 * * *", "America/New_York", utc(2026, 3, 7, 12), local("America/New_York", 2026, 3, 8, 3, 0)),
        # Lord Howe 2026-10-04: 02:00 (+10:30) becomes 02:30 (+11).
        ("15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 3, 0), local("Australia/Lord_Howe", 2026, 10, 4, 2, 30)),
        # Chatham 2026-09-27: 02:45 (+12:45) becomes 03:45 (+13:45).
        ("0 3 * * *", "Pacific/Chatham", utc(2026, 9, 26, 0), local("Pacific/Chatham", 2026, 9, 27, 3, 45)),
        # Tehran 2022-03-22 (its last daylight-saving year): midnight (+03:30) becomes 01:00 (+04:30).
        ("@daily", "Asia/Tehran", utc(2022, 3, 21, 0), local("Asia/Tehran", 2022, 3, 22, 1, 0)),
    ],
)
def test_a_fixed_time_in_a_spring_forward_gap_runs_right_after_the_gap(expression, zone, first, expected):
    schedule = CronSchedule(expression, zone)
    slots = ran(schedule, first, first + timedelta(days=1))
    assert slots == [expected]


def test_several_fixed_times_in_one_gap_are_one_slot_right_after_it():
    slots = ran(CronSchedule("0,30 2 * * *", "Europe/Berlin"), utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
    assert slots == [local("Europe/Berlin", 2026, 3, 29, 3, 0)]


def test_a_wildcard_job_skips_the_wall_times_of_a_gap():
    slots = ran(CronSchedule("*/20 2-3 * * *", "America/New_York"), utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))
    zone = "America/New_York"
    assert slots == [local(zone, 2026, 3, 8, 3, 0), local(zone, 2026, 3, 8, 3, 20), local(zone, 2026, 3, 8, 3, 40)]


def test_a_day_that_a_zone_skips_is_a_clock_jump_not_a_gap_to_catch_up():
    # Kiritimati skipped 1994-12-31 (-10:00 became +14:00). Debian cron takes a change of more
    # than three hours for the clock being set: nothing of the lost day runs.
    zone = "Pacific/Kiritimati"
    first, last = local(zone, 1994, 12, 30, 11, 0), local(zone, 1995, 1, 1, 13, 0)
    assert ran(CronSchedule("0 12 * * *", zone), first, last) == [
        local(zone, 1994, 12, 30, 12, 0),
        local(zone, 1995, 1, 1, 12, 0),
    ]
    hourly = ran(CronSchedule("@hourly", zone), local(zone, 1994, 12, 30, 22, 30), local(zone, 1995, 1, 1, 2, 30))
    assert hourly == [
        local(zone, 1994, 12, 30, 23, 0),
        local(zone, 1995, 1, 1, 0, 0),
        local(zone, 1995, 1, 1, 1, 0),
        local(zone, 1995, 1, 1, 2, 0),
    ]


def test_a_fixed_time_job_runs_again_when_a_zone_repeats_a_day():
    # Kwajalein went from +11:00 to -12:00 on 1969-10-01: 23 hours came twice.
    zone = "Pacific/Kwajalein"
    slots = ran(CronSchedule("0 12 * * *", zone), utc(1969, 9, 30, 0), utc(1969, 10, 1, 23))
    assert slots == [local(zone, 1969, 9, 30, 12, 0, fold=0), local(zone, 1969, 9, 30, 12, 0, fold=1)]


def test_an_outage_that_ends_in_the_repeated_hour_runs_the_fixed_slot_of_the_first_copy():
    # runcrons is down from 00:00 to 01:10 UTC; 02:30 CEST (00:30 UTC) passed in the outage.
    schedule = CronSchedule("30 2 * * *", "Europe/Berlin")
    now = local("Europe/Berlin", 2026, 10, 25, 2, 10, fold=1)
    due = due_slots(schedule, utc(2026, 10, 24, 23, 59), now, "latest")
    assert due.run == [utc(2026, 10, 25, 0, 30)] and due.missed == []


def test_the_next_slot_after_a_moment_in_the_second_copy_is_never_in_the_past():
    schedule = CronSchedule("30 2 * * *", "Europe/Berlin")
    moment = local("Europe/Berlin", 2026, 10, 25, 2, 10, fold=1)
    assert schedule.next_after(moment) == local("Europe/Berlin", 2026, 10, 26, 2, 30)


def test_the_next_slot_after_the_first_copy_is_the_second_copy():
    schedule = CronSchedule("*/15 * * * *", "Europe/Berlin")
    moment = local("Europe/Berlin", 2026, 10, 25, 2, 45, fold=0)
    assert schedule.next_after(moment) == local("Europe/Berlin", 2026, 10, 25, 2, 0, fold=1)
    assert schedule.next_after(moment - timedelta(minutes=1)) == moment


def test_slots_back_lists_both_copies_newest_first():
    schedule = CronSchedule("*/30 * * * *", "America/New_York")
    slots = list(schedule.slots_back(utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 7, 0)))
    assert slots == every(utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 7, 0), timedelta(minutes=30))[::-1]
