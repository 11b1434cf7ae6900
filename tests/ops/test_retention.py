"""KEEP_RUNS: runcrons keeps each job's records bounded, at a cost that does not grow with history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from cronjobs.engine.runner import Runner
from cronjobs.models import Job, Run
from cronjobs.ops import retention
from tests.testapp.jobs import EveryMinute

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
JOBS = {"test.every_minute": EveryMinute}


def settings(keep):
    return override_settings(CRONJOBS={"AUTODISCOVER": False, "KEEP_RUNS": keep})


def run_minutes(start: int, stop: int) -> None:
    for minute in range(start, stop):
        Runner(JOBS, now=T0 + timedelta(minutes=minute)).run()


def slots(code="test.every_minute"):
    return [r.slot for r in Run.objects.filter(job_id=code).order_by("slot")]


def test_runcrons_keeps_the_newest_runs_per_job_by_count():
    with settings({"count": 5}):
        run_minutes(0, 20)
    kept = slots()
    assert len(kept) == 5
    assert kept[-1] == (T0 + timedelta(minutes=19)).replace(second=0)
    assert kept == [kept[-1] - timedelta(minutes=4 - i) for i in range(5)]


def test_runcrons_keeps_runs_by_age():
    with settings(timedelta(minutes=10)):
        run_minutes(0, 30)
    kept = slots()
    newest = (T0 + timedelta(minutes=29)).replace(second=0)
    assert kept == [newest - timedelta(minutes=9 - i) for i in range(10)]


def test_count_and_age_together_apply_whichever_is_stricter():
    keep = retention.parse({"count": 3, "age": timedelta(minutes=60)})
    with settings(None):
        run_minutes(0, 10)
    assert (
        retention.prune_job("test.every_minute", T0 + timedelta(minutes=10), keep) == 6
    )  # nine ran: minute 0 only saw the job
    assert len(slots()) == 3


def test_none_keeps_everything():
    with settings(None):
        run_minutes(0, 12)
    assert len(slots()) == 11  # minute 0 only saw the job


def test_retry_attempts_count_one_by_one_and_running_runs_are_never_deleted():
    Job.objects.create(code="x", first_seen=T0, watermark=T0, schedule_key="", next_slot=T0)
    for minute in range(4):
        for attempt in (1, 2):
            Run.objects.create(job_id="x", slot=T0 + timedelta(minutes=minute), attempt=attempt, status="failed")
    Run.objects.create(job_id="x", slot=T0 - timedelta(days=1), attempt=1, status="running")
    assert retention.prune_job("x", T0, retention.parse(3)) == 5
    left = list(Run.objects.filter(job_id="x").order_by("slot", "attempt").values_list("slot", "attempt", "status"))
    assert left == [
        (T0 - timedelta(days=1), 1, "running"),
        (T0 + timedelta(minutes=2), 2, "failed"),
        (T0 + timedelta(minutes=3), 1, "failed"),
        (T0 + timedelta(minutes=3), 2, "failed"),
    ]


def test_prune_all_covers_codes_that_are_no_longer_registered():
    for i in range(6):
        Run.objects.create(job_id="gone.job", slot=T0 + timedelta(minutes=i), status="succeeded")
    assert retention.prune_all(T0, retention.parse(2)) == {"gone.job": 4}


def test_the_cost_of_a_runcrons_pass_does_not_grow_with_history():
    def queries_at(minute: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            Runner(JOBS, now=T0 + timedelta(minutes=minute)).run()
        return len(ctx.captured_queries)

    with settings({"count": 10}):
        run_minutes(0, 15)
        early = queries_at(15)
        run_minutes(6, 60)
        late = queries_at(60)
    assert early == late
    assert Run.objects.count() == 10


@pytest.mark.parametrize(
    "value, message",
    [
        (0, "'count' must be a positive integer"),
        ({"count": "5"}, "'count' must be a positive integer"),
        (timedelta(0), "'age' must be a positive timedelta"),
        ({"days": 3}, "is not a retention policy"),
        ("1000", "is not a retention policy"),
    ],
)
def test_bad_policies_say_what_is_accepted(value, message):
    with pytest.raises(ValueError, match=message):
        retention.parse(value)


@pytest.mark.processes
def test_runcrons_prunes_by_count_on_each_database(project):
    env = {"CRONJOBS_TEST_KEEP_RUNS": "2"}
    for _ in range(4):
        result = project.manage("runcrons", "--force", jobs="EveryMinute", env=env)
        assert result.returncode == 0, result.stderr
    kept = project.query("SELECT slot FROM cronjobs_run ORDER BY slot")
    ran = project.query("SELECT slot FROM testapp_effect ORDER BY slot")
    assert len(ran) == 4
    assert kept == ran[2:]  # the newest two of the four runs
