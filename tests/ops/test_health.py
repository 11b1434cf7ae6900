"""``cronjobs health``: late jobs and stuck runs, from the database, at a given moment."""

from __future__ import annotations

import argparse
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from cronjobs.engine.runner import Runner
from cronjobs.management.subcommands.health import duration
from cronjobs.models import Job, Run
from cronjobs.ops import health, maintenance
from tests.testapp.api_jobs import KeepsGoing
from tests.testapp.jobs import EveryMinute, FiveMinutes, Hourly

T0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
JOBS = {"test.every_minute": EveryMinute, "test.five_minutes": FiveMinutes}
LAG = timedelta(minutes=5)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.django_db
def test_jobs_that_runcrons_keeps_settling_are_healthy():
    for minute in range(12):
        Runner(JOBS, now=at(minute)).run()
    report = health.check(JOBS, at(11.5), LAG)
    assert report.healthy
    assert [(j.code, j.state) for j in report.jobs] == [("test.every_minute", "ok"), ("test.five_minutes", "ok")]


@pytest.mark.django_db
def test_when_cron_stops_the_jobs_become_late_once_their_slot_is_older_than_the_lag():
    Runner(JOBS, now=at(0)).run()
    Runner(JOBS, now=at(1)).run()  # then cron stops
    assert health.check(JOBS, at(6), LAG).healthy  # every_minute's slot 12:02 is 4.5 minutes old
    report = health.check(JOBS, at(7.5), LAG)
    assert not report.healthy
    (late,) = report.late
    assert (late.code, late.state, late.next_slot, late.lag) == (
        "test.every_minute",
        "late",
        datetime(2026, 3, 1, 12, 2, tzinfo=timezone.utc),
        timedelta(minutes=6),
    )
    assert [j.code for j in health.check(JOBS, at(11), LAG).late] == ["test.every_minute", "test.five_minutes"]


@pytest.mark.django_db
def test_a_paused_job_is_never_late_and_an_unseen_one_is():
    Runner({"test.every_minute": EveryMinute}, now=at(0)).run()
    Job.objects.pause("test.every_minute")
    report = health.check({**JOBS, "test.hourly": Hourly}, at(60), LAG)
    assert [(j.code, j.state) for j in report.jobs] == [
        ("test.every_minute", "paused"),
        ("test.five_minutes", "unseen"),
        ("test.hourly", "unseen"),
    ]
    assert [j.code for j in report.late] == ["test.five_minutes", "test.hourly"]


@pytest.mark.django_db
def test_maintenance_mode_holds_jobs_without_making_them_late_but_not_the_jobs_that_go_on():
    jobs = {**JOBS, "test.keeps_going": KeepsGoing}
    Runner(jobs, now=at(0)).run()
    maintenance.turn_on(jobs.values(), "ops", at(0.5))
    for minute in range(1, 30):  # cron runs on; only the backup job does
        Runner(jobs, now=at(minute)).run()
    report = health.check(jobs, at(29.5), LAG)
    assert report.healthy
    assert [(j.code, j.state) for j in report.jobs] == [
        ("test.every_minute", "held"),
        ("test.five_minutes", "held"),
        ("test.keeps_going", "ok"),
    ]
    assert report.as_dict()["maintenance"]["by"] == "ops"
    report = health.check(jobs, at(45), LAG)  # cron stopped: the job that goes on in maintenance is late
    assert [j.code for j in report.late] == ["test.keeps_going"]


@pytest.mark.django_db
def test_a_run_past_its_lease_is_stuck_and_one_still_renewed_is_not():
    Runner(JOBS, now=at(0)).run()
    Run.objects.create(job_id="test.every_minute", slot=at(1), status="running", started_at=at(1), lease_until=at(2))
    Run.objects.create(job_id="test.five_minutes", slot=at(1), status="running", started_at=at(1), lease_until=at(9))
    report = health.check(JOBS, at(3), timedelta(hours=1))
    assert [(r.code, r.reason) for r in report.stuck] == [("test.every_minute", "its lease ran out 60s ago")]
    assert not report.healthy
    data = report.as_dict()
    assert data["healthy"] is False and data["stuck_runs"][0]["lease_until"] == "2026-03-01T12:02:30+00:00"


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h30m", 5400), ("2d", 172800)])
def test_max_lag_accepts_seconds_and_units(text, seconds):
    assert duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "5 minutes", "0", "-5m", "m5"])
def test_a_bad_max_lag_is_a_usage_error(text):
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


# -- the command, in real processes ------------------------------------------------------


@pytest.mark.processes
def test_health_exits_1_naming_the_late_jobs_when_cron_stopped_and_0_once_it_runs(project):
    # cron stopped half an hour ago: both jobs were last settled then.
    project.seed_job("test.every_minute", minutes_ago=30)
    project.seed_job("test.five_minutes", minutes_ago=30)
    jobs = "EveryMinute,FiveMinutes"
    stopped = project.manage("cronjobs", "health", jobs=jobs)
    assert stopped.returncode == 1, stopped.stderr
    assert "test.every_minute: late, its slot" in stopped.stdout and "came due 30m ago" in stopped.stdout
    assert "unhealthy: test.every_minute (late), test.five_minutes (late)" in stopped.stderr
    report = json.loads(project.manage("cronjobs", "health", "--json", "--max-lag", "1h", jobs=jobs).stdout)
    assert report["healthy"] is True and [j["state"] for j in report["jobs"]] == ["ok", "ok"]

    assert project.manage("runcrons", jobs=jobs).returncode == 0  # cron runs again
    running = project.manage("cronjobs", "health", "--max-lag", "2m", jobs=jobs)
    assert running.returncode == 0, running.stdout + running.stderr
    assert "healthy: 2 active job(s) within 2m" in running.stdout
    usage = project.manage("cronjobs", "health", "--max-lag", "soon", jobs=jobs)
    assert usage.returncode == 2 and "'soon' is not a duration" in usage.stderr


@pytest.mark.django_db
def test_an_unreadable_database_is_unhealthy_in_one_line(monkeypatch):
    from django.core.management import CommandError, call_command
    from django.db import OperationalError

    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "check", broken)
    with pytest.raises(CommandError, match="unhealthy: the database cannot be read: connection refused") as raised:
        call_command("cronjobs", "health")
    assert raised.value.returncode == 1


@pytest.mark.django_db
def test_with_failing_a_job_whose_last_slot_failed_for_good_is_unhealthy_until_it_succeeds():
    from tests.testapp.jobs import Flaky

    jobs = {"test.every_minute": EveryMinute, "test.flaky": Flaky}
    Runner(jobs, now=at(0)).run()
    Runner(jobs, now=at(1)).run()  # Flaky fails (no retries): failed for good
    assert health.check(jobs, at(1.5), LAG).healthy  # without --failing, as before
    report = health.check(jobs, at(1.5), LAG, failing=True)
    assert not report.healthy
    assert [(job.code, job.failing) for job in report.failing] == [("test.flaky", True)]
    assert report.as_dict()["failing"] == ["test.flaky"]
    Flaky.failing = False
    try:
        Runner(jobs, now=at(2)).run()
    finally:
        Flaky.failing = True
    assert health.check(jobs, at(2.5), LAG, failing=True).healthy


@pytest.mark.django_db
def test_a_failing_job_that_is_paused_is_not_reported_as_failing():
    from tests.testapp.jobs import Flaky

    jobs = {"test.flaky": Flaky}
    Runner(jobs, now=at(0)).run()
    Runner(jobs, now=at(1)).run()
    Job.objects.pause("test.flaky")
    assert health.check(jobs, at(1.5), LAG, failing=True).healthy


@pytest.mark.django_db
def test_health_failing_exits_1_naming_the_failing_job():
    from django.core.management import CommandError, call_command
    from django.test.utils import override_settings

    paths = ["tests.testapp.jobs.EveryMinute", "tests.testapp.jobs.Flaky"]
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": paths}):
        with pytest.raises(CommandError):
            call_command("runcrons", "--force", stdout=io.StringIO())
        out = io.StringIO()
        call_command("cronjobs", "health", stdout=out)
        assert "healthy: 2 active job(s) within 5m" in out.getvalue()
        out = io.StringIO()
        with pytest.raises(CommandError) as raised:
            call_command("cronjobs", "health", "--failing", stdout=out)
    assert raised.value.returncode == 1
    assert str(raised.value) == "unhealthy: test.flaky (failing)"
    assert re.fullmatch(
        r"test\.flaky: failing since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(its last slot failed, no retry left\)\n",
        out.getvalue(),
    )
