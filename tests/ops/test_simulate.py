"""``manage.py cronjobs simulate``: the real runner, slot by slot, through clock changes and outages."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from cronjobs.models import Job, Run
from tests.testapp.models import Effect

UTC = timezone.utc
JOBS = [
    "tests.testapp.dst_jobs.BerlinQuarterHours",
    "tests.testapp.dst_jobs.BerlinHalfPastTwo",
    "tests.testapp.subminute_jobs.TwentySecondsByCron",
]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def jobs(django_db_blocker):
    with django_db_blocker.unblock(), override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": JOBS}):
        yield


def simulate(*args: str) -> str:
    out = io.StringIO()
    call_command("cronjobs", "simulate", *args, stdout=out, no_color=True)
    return out.getvalue()


def table(text: str) -> list[list[str]]:
    """The slot lines: [local, UTC, job, what, notes...], split on runs of two spaces."""
    rows = []
    for line in text.splitlines():
        if line[:4].isdigit():
            rows.append([cell.strip() for cell in line.split("  ") if cell.strip()])
    return rows


def test_the_fall_back_shows_every_quarter_hour_in_both_copies_and_the_change_marked():
    text = simulate("dst.berlin_quarter_hours", "--from", "2026-10-25 00:00", "--to", "2026-10-25 02:00")
    rows = table(text)
    assert [row[1] for row in rows] == [f"2026-10-25 {h:02d}:{m:02d}:00" for h in (0, 1) for m in (0, 15, 30, 45)] + [
        "2026-10-25 02:00:00"
    ]
    assert [row[0] for row in rows[:5]] == [
        "2026-10-25 02:00:00 CEST",
        "2026-10-25 02:15:00 CEST",
        "2026-10-25 02:30:00 CEST",
        "2026-10-25 02:45:00 CEST",
        "2026-10-25 02:00:00 CET",
    ]
    assert {row[3] for row in rows} == {"run"}
    assert rows[0][4] == "first copy of the hour" and rows[4][4] == "second copy of the hour"
    lines = text.splitlines()
    change = lines.index("-- Europe/Berlin: clocks go back from 03:00 CEST to 02:00 CET, at 2026-10-25 01:00:00 UTC")
    assert "02:45:00 CEST" in lines[change - 1] and "02:00:00 CET" in lines[change + 1]
    assert lines[-1] == "dst.berlin_quarter_hours: 9 run"


def test_the_spring_forward_runs_a_fixed_time_in_the_gap_right_after_it():
    text = simulate("dst.berlin_half_past_two", "--from", "2026-03-28", "--to", "2026-03-30 12:00")
    rows = table(text)
    assert [(row[0], row[1], row[3]) for row in rows] == [
        ("2026-03-28 02:30:00 CET", "2026-03-28 01:30:00", "run"),
        ("2026-03-29 03:00:00 CEST", "2026-03-29 01:00:00", "run"),  # 02:30 does not exist that day
        ("2026-03-30 02:30:00 CEST", "2026-03-30 00:30:00", "run"),
    ]
    assert "-- Europe/Berlin: clocks go forward from 02:00 CET to 03:00 CEST, at 2026-03-29 01:00:00 UTC" in text


def test_an_outage_shows_missed_and_caught_up_slots_by_the_catchup_policy():
    text = simulate(
        "dst.berlin_quarter_hours",
        "dst.berlin_half_past_two",
        "--from",
        "2026-10-25 00:00",
        "--to",
        "2026-10-25 01:10",
        "--outage",
        "2026-10-25 00:20..00:50",
    )
    rows = [(row[1][11:], row[2], row[3], *row[4:]) for row in table(text)]
    assert rows == [
        ("00:00:00", "dst.berlin_quarter_hours", "run", "first copy of the hour"),
        ("00:15:00", "dst.berlin_quarter_hours", "run", "first copy of the hour"),
        ("00:30:00", "dst.berlin_half_past_two", "caught up", "at 00:50:00", "first copy of the hour"),
        ("00:30:00", "dst.berlin_quarter_hours", "missed", "at 00:50:00", "first copy of the hour"),
        ("00:45:00", "dst.berlin_quarter_hours", "caught up", "at 00:50:00", "first copy of the hour"),
        ("01:00:00", "dst.berlin_quarter_hours", "run", "second copy of the hour"),
    ]
    assert "-- outage: no runcrons from 2026-10-25 00:20:00 to 2026-10-25 00:50:00 UTC" in text
    assert text.splitlines()[-2:] == [
        "dst.berlin_quarter_hours: 3 run, 1 missed, 1 caught up",
        "dst.berlin_half_past_two: 1 caught up",
    ]


def test_json_has_every_slot_with_local_and_utc_times_and_the_clock_changes():
    data = json.loads(
        simulate(
            "dst.berlin_quarter_hours",
            "--from",
            "2026-10-25T00:40Z",
            "--to",
            "2026-10-25T02:30+01:00",
            "--outage",
            "2026-10-25T00:50Z..2026-10-25T01:20Z",
            "--json",
        )
    )
    assert data["from"] == "2026-10-25T00:40:00+00:00" and data["to"] == "2026-10-25T01:30:00+00:00"
    assert data["outages"] == [{"from": "2026-10-25T00:50:00+00:00", "to": "2026-10-25T01:20:00+00:00"}]
    assert data["jobs"] == {
        "dst.berlin_quarter_hours": {
            "schedule": "Every 15th minute of every hour (Europe/Berlin)",
            "zone": "Europe/Berlin",
            "catchup": "latest",
        }
    }
    assert [(s["slot"], s["local"], s["status"], s["settled_at"]) for s in data["slots"]] == [
        ("2026-10-25T00:45:00+00:00", "2026-10-25T02:45:00+02:00", "run", "2026-10-25T00:45:00+00:00"),
        ("2026-10-25T01:00:00+00:00", "2026-10-25T02:00:00+01:00", "missed", "2026-10-25T01:20:00+00:00"),
        ("2026-10-25T01:15:00+00:00", "2026-10-25T02:15:00+01:00", "caught up", "2026-10-25T01:20:00+00:00"),
        ("2026-10-25T01:30:00+00:00", "2026-10-25T02:30:00+01:00", "run", "2026-10-25T01:30:00+00:00"),
    ]
    assert data["clock_changes"] == [
        {
            "zone": "Europe/Berlin",
            "at": "2026-10-25T01:00:00+00:00",
            "before": "2026-10-25T02:59:59+02:00",
            "after": "2026-10-25T02:00:00+01:00",
            "words": "Europe/Berlin: clocks go back from 03:00 CEST to 02:00 CET",
        }
    ]


def test_a_twenty_second_interval_runs_three_times_a_minute():
    data = json.loads(simulate("sub.by_cron", "--from", "2026-01-01 12:00", "--to", "2026-01-01 12:01:59", "--json"))
    slots = [(s["slot"][11:19], s["status"], s["settled_at"][11:19]) for s in data["slots"]]
    assert slots == [(f"12:0{m}:{s:02d}",) * 1 + ("run", f"12:0{m}:{s:02d}") for m in (0, 1) for s in (0, 20, 40)]


def test_the_projects_database_is_left_alone():
    text = simulate("--from", "2026-01-01 01:00", "--to", "2026-01-01 01:30")
    assert "sub.by_cron: 91 run" in text
    assert Job.objects.count() == 0 and Run.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-01-02", "--to", "2026-01-01"], "--to must come after --from"),
        (["--from", "2026-01-01", "--to", "2026-01-01"], "--to must come after --from"),
        (["nope", "--from", "2026-01-01", "--to", "2026-01-02"], "unknown job code 'nope'"),
        (["--from", "25/10/2026", "--to", "2026-01-02"], "'25/10/2026' is not a date or time; use YYYY-MM-DD"),
        (["--from", "2026-01-01", "--to", "2026-01-02", "--outage", "2026-01-01 10:00"], "write an outage as FROM..TO"),
        (["--from", "2026-01-01", "--to", "2026-01-02", "--outage", "2026-01-01 10:00..09:00"], "must end after"),
        (["sub.by_cron", "--from", "2026-01-01", "--to", "2026-03-01"], "more than 10000 slots"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        simulate(*args)


@pytest.mark.parametrize(
    "args",
    [
        ["dst.berlin_half_past_two", "--from", "0001-01-01", "--to", "0001-01-02"],
        ["dst.berlin_half_past_two", "--from", "9999-12-30", "--to", "9999-12-31 23:59"],
        ["sub.by_cron", "--from", "9999-12-31 23:58", "--to", "9999-12-31 23:59:59"],
    ],
)
def test_a_stretch_at_the_calendars_edge_is_bad_usage_with_a_message_not_a_traceback(args):
    with pytest.raises(CommandError) as raised:
        simulate(*args)
    assert raised.value.returncode == 2
    assert "is too close to the edge of the calendar: a slot before or after it lies beyond year 1 or 9999" in str(
        raised.value
    )
    assert "use dates between 0001-01-02 and 9999-12-30" in str(raised.value)


def test_a_moment_before_the_first_one_a_datetime_holds_is_an_argument_error():
    with pytest.raises(CommandError, match=r"'0001-01-01T00:00\+05:00' is past the edge of the calendar"):
        simulate("--from", "0001-01-01T00:00+05:00", "--to", "0001-01-02")


def test_dates_without_an_offset_are_in_the_projects_time_zone():
    with override_settings(TIME_ZONE="Europe/Berlin"):
        data = json.loads(simulate("dst.berlin_half_past_two", "--from", "2026-06-01", "--to", "2026-06-02", "--json"))
    assert data["from"] == "2026-05-31T22:00:00+00:00" and data["to"] == "2026-06-01T22:00:00+00:00"
    assert [s["local"] for s in data["slots"]] == ["2026-06-01T02:30:00+02:00"]


def test_the_clock_the_routers_and_the_connections_are_given_back_even_after_an_error(monkeypatch):
    from django.db import connections, router
    from django.utils import timezone as django_timezone

    from cronjobs.ops import simulation

    routers, now = router.routers, django_timezone.now
    simulate("--from", "2026-01-01 01:00", "--to", "2026-01-01 01:01")

    def broken(self, *args, **kwargs):
        raise RuntimeError("broken runner")

    monkeypatch.setattr(simulation.Runner, "run", broken)
    with pytest.raises(RuntimeError, match="broken runner"):
        simulate("--from", "2026-01-01 01:00", "--to", "2026-01-01 01:01")
    assert router.routers is routers and django_timezone.now is now
    assert "cronjobs_simulation" not in connections.settings
    assert abs(django_timezone.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_projects_code_is_not_called_and_jitter_does_not_make_it_wait():
    """Hooks and should_run() are the project's code: the simulation calls neither, nor waits an hour."""
    codes = ["test.hooked", "test.long_jitter", "test.decides_itself"]
    jobs = [
        "tests.testapp.api_jobs.HookedJob",
        "tests.testapp.api_jobs.LongJitter",
        "tests.testapp.api_jobs.DecidesItself",
    ]
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": jobs}):
        data = json.loads(simulate(*codes, "--from", "2026-01-01 12:00", "--to", "2026-01-01 12:02:30", "--json"))
    ran = sorted((s["job"], s["slot"][11:16]) for s in data["slots"] if s["status"] == "run")
    assert ran == sorted((code, f"12:0{m}") for code in codes for m in range(3))
    assert Effect.objects.count() == 0
