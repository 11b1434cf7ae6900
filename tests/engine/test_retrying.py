"""The retry policy (cronjobs.engine.retrying): backoff with a cap and jitter, retry_on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cronjobs import BaseCronJob
from cronjobs.engine import retrying

PATH = "tests.testapp.api_jobs."
SLOT = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)


class Policy(BaseCronJob):
    abstract = True
    code = "test.policy"
    retry_delay = timedelta(minutes=1)
    retry_backoff = 3
    retry_max_delay = timedelta(minutes=20)
    retry_jitter = False


def test_delays_grow_by_the_factor_up_to_the_cap():
    assert [retrying.delay(Policy, SLOT, n) for n in (2, 3, 4, 5)] == [
        timedelta(minutes=1),
        timedelta(minutes=3),
        timedelta(minutes=9),
        timedelta(minutes=20),
    ]


def test_jitter_scales_each_delay_stably_between_half_and_all_of_it():
    class Jittered(Policy):
        retry_jitter = True

    for attempt in (2, 3, 4, 5):
        full = retrying.delay(Policy, SLOT, attempt)
        jittered = retrying.delay(Jittered, SLOT, attempt)
        assert full / 2 <= jittered <= full
        assert jittered == retrying.delay(Jittered, SLOT, attempt)
    delays = {retrying.delay(Jittered, SLOT + timedelta(minutes=m), 3) for m in range(20)}
    assert len(delays) == 20


def test_without_backoff_every_retry_waits_retry_delay():
    class Plain(Policy):
        retry_backoff = None

    assert {retrying.delay(Plain, SLOT, n) for n in (2, 3, 7)} == {timedelta(minutes=1)}


def test_retry_on_names_the_errors_that_are_retried():
    class Chosen(Policy):
        retry_on = (ConnectionError, TimeoutError)

    assert retrying.wanted(Chosen, ConnectionRefusedError())
    assert not retrying.wanted(Chosen, ValueError())
    assert retrying.wanted(Policy, ValueError())


def as_utc(value: object) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
@pytest.mark.parametrize("jitter", [False, True])
def test_runcrons_schedules_each_retry_after_the_policys_delay(project, jitter):
    from tests.testapp.api_jobs import BacksOff

    env = {"CRONJOBS_TEST_RETRY_JITTER": "1" if jitter else ""}
    result = project.manage("runcrons", "--force", jobs=PATH + "BacksOff", env=env)
    assert result.returncode == 1
    seen = []
    for attempt in (2, 3, 4):
        [(retry_at, retry_slot, retry_attempt)] = project.query(
            "SELECT retry_at, retry_slot, retry_attempt FROM cronjobs_job WHERE code = 'test.backs_off'"
        )
        [(started,)] = project.query(
            "SELECT started_at FROM cronjobs_run WHERE job_code = 'test.backs_off' AND attempt = ?", (attempt - 1,)
        )
        assert retry_attempt == attempt
        waited = as_utc(retry_at) - as_utc(started)
        BacksOff.retry_jitter = jitter
        expected = retrying.delay(BacksOff, as_utc(retry_slot), attempt)
        # The delay counts from the moment of the runner's pass, a little before the attempt's claim
        # (its started_at); a delay of the wrong attempt would be minutes off.
        assert expected - timedelta(seconds=30) < waited <= expected, (attempt, waited, expected)
        seen.append(expected)
        # Make the retry due now and let the next runcrons take it.
        project.query("UPDATE cronjobs_job SET retry_at = ? WHERE code = 'test.backs_off'", (project._moment(0.1),))
        result = project.manage("runcrons", jobs=PATH + "BacksOff", env=env)
        assert result.returncode == 1, result.stdout + result.stderr
    if not jitter:
        assert seen == [timedelta(minutes=10), timedelta(minutes=20), timedelta(minutes=30)]
    else:
        assert all(
            timedelta(minutes=m) / 2 <= d <= timedelta(minutes=m) for d, m in zip(seen, (10, 20, 30), strict=True)
        )
    statuses = [(r[1], r[2]) for r in project.runs("test.backs_off")]
    assert statuses == [(n, "failed") for n in (1, 2, 3, 4)]


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_retry_on_retries_only_the_chosen_errors_through_runcrons(project):
    job = PATH + "RetriesConnectionErrors"
    result = project.manage("runcrons", "--force", jobs=job)
    assert result.returncode == 1
    assert [r[1:3] for r in project.runs("test.retries_connection_errors")] == [(1, "failed")]
    assert project.query("SELECT retry_attempt FROM cronjobs_job WHERE code = 'test.retries_connection_errors'") == [
        (None,)
    ]
    project.server.empty()
    result = project.manage("runcrons", "--force", jobs=job, env={"CRONJOBS_TEST_RAISE": "ConnectionError"})
    assert result.returncode == 1
    # retry_delay is the default minute: the retry is scheduled, not run at once.
    [(retry_attempt,)] = project.query(
        "SELECT retry_attempt FROM cronjobs_job WHERE code = 'test.retries_connection_errors'"
    )
    assert retry_attempt == 2
