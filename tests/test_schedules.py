"""Slot times of cron expressions, nicknames and intervals, DST included (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from cronjobs.exceptions import ScheduleError
from cronjobs.schedules import CronSchedule, IntervalSchedule, due_slots

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)  # type: ignore[misc]


def following(schedule, start: datetime, count: int) -> list[datetime]:
    slots, moment = [], start
    for _ in range(count):
        moment = schedule.next_after(moment)
        slots.append(moment)
    return slots


@pytest.mark.parametrize(
    ("expression", "start", "expected"),
    [
        ("*/5 * * * *", datetime(2026, 1, 1, 0, 0, tzinfo=UTC), ["00:05", "00:10", "00:15"]),
        ("*/5 * * * *", datetime(2026, 1, 1, 0, 3, 59, tzinfo=UTC), ["00:05", "00:10", "00:15"]),
        ("0 * * * *", datetime(2026, 1, 1, 0, 0, tzinfo=UTC), ["01:00", "02:00", "03:00"]),
        ("@hourly", datetime(2026, 1, 1, 0, 30, tzinfo=UTC), ["01:00", "02:00", "03:00"]),
        ("@daily", datetime(2026, 1, 1, 12, 0, tzinfo=UTC), ["01-02 00:00", "01-03 00:00", "01-04 00:00"]),
        ("@midnight", datetime(2026, 1, 1, 12, 0, tzinfo=UTC), ["01-02 00:00", "01-03 00:00", "01-04 00:00"]),
        ("@weekly", datetime(2026, 1, 1, 0, 0, tzinfo=UTC), ["01-04 00:00", "01-11 00:00", "01-18 00:00"]),
        ("@monthly", datetime(2026, 1, 15, 0, 0, tzinfo=UTC), ["02-01 00:00", "03-01 00:00", "04-01 00:00"]),
        (
            "@yearly",
            datetime(2026, 1, 15, 0, 0, tzinfo=UTC),
            ["2027-01-01 00:00", "2028-01-01 00:00", "2029-01-01 00:00"],
        ),
        (
            "@annually",
            datetime(2026, 1, 15, 0, 0, tzinfo=UTC),
            ["2027-01-01 00:00", "2028-01-01 00:00", "2029-01-01 00:00"],
        ),
        ("30 2 * * 1-5", datetime(2026, 1, 2, 3, 0, tzinfo=UTC), ["01-05 02:30", "01-06 02:30", "01-07 02:30"]),
        ("0 0 29 2 *", datetime(2026, 1, 1, tzinfo=UTC), ["2028-02-29 00:00", "2032-02-29 00:00", "2036-02-29 00:00"]),
    ],
)
def test_it_lists_the_next_slots_of_expressions_and_nicknames(expression, start, expected):
    slots = following(CronSchedule(expression, "UTC"), start, 3)
    fmt = {5: "%H:%M", 11: "%m-%d %H:%M", 16: "%Y-%m-%d %H:%M"}[len(expected[0])]
    assert [s.strftime(fmt) for s in slots] == expected
    assert all(s.tzinfo is UTC for s in slots)


@pytest.mark.parametrize(
    ("interval", "start", "expected"),
    [
        (timedelta(minutes=5), datetime(2026, 1, 1, 0, 3, tzinfo=UTC), ["00:05", "00:10", "00:15"]),
        (timedelta(minutes=5), datetime(2026, 1, 1, 0, 5, tzinfo=UTC), ["00:10", "00:15", "00:20"]),
        (timedelta(hours=1), datetime(2026, 1, 1, 0, 59, 59, tzinfo=UTC), ["01:00", "02:00", "03:00"]),
        (timedelta(seconds=90), datetime(2026, 1, 1, 0, 0, tzinfo=UTC), ["00:01:30", "00:03:00", "00:04:30"]),
        (timedelta(hours=7), datetime(1970, 1, 1, 0, 0, tzinfo=UTC), ["07:00", "14:00", "21:00"]),
    ],
)
def test_intervals_are_aligned_to_the_epoch(interval, start, expected):
    slots = following(IntervalSchedule(interval), start, 3)
    fmt = "%H:%M:%S" if len(expected[0]) == 8 else "%H:%M"
    assert [s.strftime(fmt) for s in slots] == expected


def test_intervals_run_in_absolute_time_across_dst():
    schedule = IntervalSchedule(timedelta(hours=1))
    start = local(BERLIN, 2026, 10, 25, 1, 30)
    slots = following(schedule, start, 3)
    assert [s - start for s in slots] == [timedelta(minutes=30), timedelta(minutes=90), timedelta(minutes=150)]


# Debian cron's DST rule: a fixed-time job runs once on the fall-back day and right after a
# spring-forward gap; wildcard fields fire on every real occurrence.
DST_CASES = [
    # Europe/Berlin: spring forward 2026-03-29 02:00 -> 03:00; fall back 2026-10-25 03:00 -> 02:00.
    ("30 2 * * *", BERLIN, (2026, 3, 28, 12), [(2026, 3, 29, 3, 0), (2026, 3, 30, 2, 30)]),
    ("30 2 * * *", BERLIN, (2026, 10, 24, 12), [(2026, 10, 25, 2, 30), (2026, 10, 26, 2, 30)]),
    ("0 1 * * *", BERLIN, (2026, 10, 24, 12), [(2026, 10, 25, 1, 0), (2026, 10, 26, 1, 0)]),
    # America/New_York: spring forward 2026-03-08 02:00 -> 03:00; fall back 2026-11-01 02:00 -> 01:00.
    ("30 2 * * *", NEW_YORK, (2026, 3, 7, 12), [(2026, 3, 8, 3, 0), (2026, 3, 9, 2, 30)]),
    ("30 1 * * *", NEW_YORK, (2026, 10, 31, 12), [(2026, 11, 1, 1, 30), (2026, 11, 2, 1, 30)]),
]


@pytest.mark.parametrize(("expression", "zone", "start", "expected"), DST_CASES)
def test_fixed_time_jobs_run_once_across_dst_transitions(expression, zone, start, expected):
    schedule = CronSchedule(expression, zone.key)
    slots = following(schedule, local(zone, *start), len(expected))
    assert slots == [local(zone, *e) for e in expected]


def test_wildcard_hours_fire_on_every_real_occurrence_on_fall_back_day_in_berlin():
    schedule = CronSchedule("*/30 * * * *", "Europe/Berlin")
    slots = following(schedule, local(BERLIN, 2026, 10, 25, 1, 45), 5)
    assert slots == [
        local(BERLIN, 2026, 10, 25, 2, 0, fold=0),
        local(BERLIN, 2026, 10, 25, 2, 30, fold=0),
        local(BERLIN, 2026, 10, 25, 2, 0, fold=1),
        local(BERLIN, 2026, 10, 25, 2, 30, fold=1),
        local(BERLIN, 2026, 10, 25, 3, 0),
    ]
    assert slots[2] - slots[1] == timedelta(minutes=30)


def test_wildcard_hours_skip_the_missing_hour_on_spring_forward_day_in_new_york():
    schedule = CronSchedule("0 * * * *", "America/New_York")
    slots = following(schedule, local(NEW_YORK, 2026, 3, 8, 0, 30), 3)
    assert slots == [
        local(NEW_YORK, 2026, 3, 8, 1, 0),
        local(NEW_YORK, 2026, 3, 8, 3, 0),
        local(NEW_YORK, 2026, 3, 8, 4, 0),
    ]


def test_wildcard_hours_fire_twice_in_the_repeated_hour_in_new_york():
    schedule = CronSchedule("15 * * * *", "America/New_York")
    slots = following(schedule, local(NEW_YORK, 2026, 11, 1, 0, 30), 3)
    # 01:15 EDT, 01:15 EST, 02:15 EST
    assert slots == [
        local(NEW_YORK, 2026, 11, 1, 1, 15, fold=0),
        local(NEW_YORK, 2026, 11, 1, 1, 15, fold=1),
        local(NEW_YORK, 2026, 11, 1, 2, 15),
    ]
    assert [s.strftime("%H:%M") for s in slots] == ["05:15", "06:15", "07:15"]


def test_slots_back_lists_newest_first_within_bounds():
    schedule = CronSchedule("*/10 * * * *", "UTC")
    after = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    until = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    assert [s.minute for s in schedule.slots_back(after, until)] == [30, 20, 10]
    interval = IntervalSchedule(timedelta(minutes=10))
    assert [s.minute for s in interval.slots_back(after, until)] == [30, 20, 10]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("@reboot", "@reboot is not supported"),
        ("@often", "unknown nickname"),
        ("* * * *", "has 4 fields"),
        ("* * * * * *", "has 6 fields"),
        ("61 * * * *", "Bad minute"),
        ("* 25 * * *", "Bad hour"),
        ("", "has 0 fields"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression, message):
    with pytest.raises(ScheduleError, match=message):
        CronSchedule(expression, "UTC")


def test_unknown_zone_is_an_error():
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        CronSchedule("* * * * *", "Mars/Olympus")


@pytest.mark.parametrize("interval", [timedelta(0), timedelta(minutes=-5), timedelta(milliseconds=1500), 300])
def test_bad_intervals_are_errors(interval):
    with pytest.raises(ScheduleError):
        IntervalSchedule(interval)


def test_schedule_keys_change_with_the_schedule():
    assert CronSchedule("@hourly", "UTC").key == CronSchedule("0 * * * *", "UTC").key
    assert CronSchedule("0 * * * *", "UTC").key != CronSchedule("0 * * * *", "Europe/Berlin").key
    assert IntervalSchedule(timedelta(minutes=5)).key != IntervalSchedule(timedelta(minutes=6)).key


def test_describe_says_it_in_words():
    # Ordinals as figures, whatever cronsim spells out: "5th" beside "10th", never "fifth".
    assert CronSchedule("*/5 * * * *", "UTC").describe() == "Every 5th minute of every hour (UTC)"
    assert CronSchedule("*/10 * * * *", "UTC").describe() == "Every 10th minute of every hour (UTC)"
    assert CronSchedule("0 0 * * 5#2", "UTC").describe() == "At 00:00 on the 2nd Friday of the month (UTC)"
    assert CronSchedule("0 0 1 */3 *", "UTC").describe() == "At 00:00 on the 1st day of every 3rd month (UTC)"
    assert IntervalSchedule(timedelta(minutes=5)).describe() == "every 5 minutes"
    assert IntervalSchedule(timedelta(hours=1)).describe() == "every hour"


class TestDueSlots:
    every_minute = CronSchedule("* * * * *", "UTC")
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def test_nothing_is_due_before_the_next_slot(self):
        due = due_slots(self.every_minute, self.t0, self.t0 + timedelta(seconds=59), "latest")
        assert due.run == [] and due.missed == [] and due.newest is None

    def test_the_slot_that_just_passed_runs(self):
        due = due_slots(self.every_minute, self.t0, self.t0 + timedelta(minutes=1, seconds=2), "latest")
        assert due.run == [self.t0 + timedelta(minutes=1)] and due.missed == []

    def test_latest_runs_the_newest_and_records_the_others_as_missed(self):
        due = due_slots(self.every_minute, self.t0, self.t0 + timedelta(minutes=3, seconds=5), "latest")
        assert due.run == [self.t0 + timedelta(minutes=3)]
        assert due.missed == [self.t0 + timedelta(minutes=1), self.t0 + timedelta(minutes=2)]

    def test_all_runs_each_missed_slot_oldest_first(self):
        due = due_slots(self.every_minute, self.t0, self.t0 + timedelta(minutes=3), "all")
        assert due.run == [self.t0 + timedelta(minutes=m) for m in (1, 2, 3)] and due.missed == []

    def test_none_runs_a_fresh_slot_but_not_a_stale_one(self):
        fresh = due_slots(self.every_minute, self.t0, self.t0 + timedelta(minutes=1, seconds=30), "none")
        assert fresh.run == [self.t0 + timedelta(minutes=1)]
        hourly = CronSchedule("0 * * * *", "UTC")
        stale = due_slots(hourly, self.t0, self.t0 + timedelta(hours=1, minutes=10), "none")
        assert stale.run == [] and stale.missed == [self.t0 + timedelta(hours=1)]

    def test_a_long_outage_is_bounded(self):
        year_later = self.t0 + timedelta(days=365)
        latest = due_slots(self.every_minute, self.t0, year_later, "latest", limit=100)
        assert latest.run == [year_later] and len(latest.missed) == 99 and latest.more_missed
        every = due_slots(self.every_minute, self.t0, year_later, "all", limit=100)
        assert len(every.run) == 100 and every.run[-1] == year_later and every.more_missed
        interval = due_slots(IntervalSchedule(timedelta(minutes=1)), self.t0, year_later, "latest", limit=10)
        assert interval.run == [year_later] and len(interval.missed) == 9 and interval.more_missed

    def test_unknown_catchup_is_an_error(self):
        with pytest.raises(ValueError, match="catchup"):
            due_slots(self.every_minute, self.t0, self.t0 + timedelta(minutes=5), "some")


def test_any_schedule_yields_the_slots_of_each_part_once_in_order():
    from cronjobs.schedules import AnySchedule

    start = datetime(2026, 12, 5, tzinfo=timezone.utc)
    both = AnySchedule((CronSchedule("30 11 * * *", "UTC"), CronSchedule("0 */6 * * *", "UTC")))
    slots = [s.strftime("%H:%M") for s in both.slots_back(start, start + timedelta(hours=12))]
    assert slots == ["12:00", "11:30", "06:00"]
    assert both.next_after(start + timedelta(hours=6)) == start + timedelta(hours=11, minutes=30)
    assert both.key == "any:cron:30 11 * * *@UTC|cron:0 */6 * * *@UTC"
