"""``async def run()`` (cronjobs.engine.asyncjobs), through real runcrons processes."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.processes

JOB = "tests.testapp.api_jobs.AsyncJob"
CODE = "test.async"


def _run(project, **env):
    project.seed_job(CODE, minutes_ago=1)
    return project.manage("runcrons", jobs=JOB, env=env)


def _output(project):
    return project.query("SELECT output FROM cronjobs_run WHERE job_code = ? AND status <> 'missed'", (CODE,))[0][0]


@pytest.mark.parametrize("project", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_an_async_job_runs_in_the_jobs_transaction_and_its_output_is_kept(project):
    result = _run(project)
    assert result.returncode == 0, result.stdout + result.stderr
    [(_, _, status, message, _)] = project.ran(CODE)
    assert (status, message) == ("succeeded", "async done")
    assert "async job ran in a transaction: True" in _output(project)
    assert sorted(r[0] for r in project.query("SELECT job FROM testapp_effect")) == [
        "test.async|acreate",
        "test.async|run|atomic=True",
    ]


@pytest.mark.parametrize("project", ["sqlite", "postgresql"], indirect=True)
def test_an_async_job_that_times_out_is_cancelled_and_rolled_back(project):
    started = time.monotonic()
    result = _run(project, CRONJOBS_TEST_SLEEP="60", CRONJOBS_TEST_TIMEOUT="1")
    assert time.monotonic() - started < 30
    assert result.returncode == 1, result.stdout + result.stderr
    [(_, _, status, message, _)] = project.ran(CODE)
    assert (status, message) == ("timed_out", "stopped after 0:00:01")
    # Its work horse was killed at the timeout (nothing of the job ran after it): what it had
    # printed is kept, and both writes were rolled back.
    assert "async job ran in a transaction: True" in _output(project)
    assert project.count("testapp_effect") == 0


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_an_async_job_that_raises_fails_and_rolls_back(project):
    result = _run(project, CRONJOBS_TEST_RUN_FAILS="1")
    assert result.returncode == 1
    [(_, _, status, message, trace)] = project.ran(CODE)
    assert (status, message) == ("failed", "ValueError: async failure")
    assert "ValueError" in trace
    assert project.count("testapp_effect") == 0
