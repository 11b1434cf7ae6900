"""A job's own hooks (cronjobs.engine.hooks), through real runcrons processes."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from cronjobs import BaseCronJob
from cronjobs.exceptions import JobTimeout
from cronjobs.testing import run_job

JOB = "tests.testapp.api_jobs.HookedJob"
CODE = "test.hooked"


def _effects(project):
    return [row[0].split("|", 1)[1] for row in project.query("SELECT job FROM testapp_effect ORDER BY id")]


def _run(project, **env):
    project.seed_job(CODE, minutes_ago=1)
    return project.manage("runcrons", jobs=JOB, env=env)


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite", "postgresql"], indirect=True)
def test_hooks_of_a_success_are_called_once_each_outside_the_transaction(project):
    result = _run(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _effects(project) == [
        "on_start:|atomic=False",
        "run|atomic=True",
        "on_success:done|atomic=False",
        "on_finish:succeeded|atomic=False",
    ]
    [(_, _, status, message, _)] = project.ran(CODE)
    assert (status, message) == ("succeeded", "done")


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_hooks_of_a_failure_get_the_error_and_their_writes_outlive_the_rollback(project):
    result = _run(project, CRONJOBS_TEST_RUN_FAILS="1")
    assert result.returncode == 1, result.stdout + result.stderr
    # The job's own write rolled back; the hooks' writes, outside its transaction, stayed.
    assert _effects(project) == [
        "on_start:|atomic=False",
        "on_failure:ValueError:the job failed|atomic=False",
        "on_finish:failed|atomic=False",
    ]
    [(_, _, status, message, _)] = project.ran(CODE)
    assert (status, message) == ("failed", "ValueError: the job failed")


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("hook", ["on_start", "on_success", "on_finish"])
def test_a_failing_hook_is_noted_on_the_run_and_does_not_change_its_status(project, hook):
    result = _run(project, CRONJOBS_TEST_HOOK_FAILS=hook)
    assert result.returncode == 0, result.stdout + result.stderr
    [(_, _, status, message, _)] = project.ran(CODE)
    assert status == "succeeded"
    assert message == f"done; hook {hook} raised RuntimeError: {hook} went wrong"
    assert f"hook {hook} raised RuntimeError" in result.stdout
    # Every hook was still called, once, and the job's work committed.
    assert [e.split(":")[0].split("|")[0] for e in _effects(project)] == [
        "on_start",
        "run",
        "on_success",
        "on_finish",
    ]


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_a_failing_on_failure_hook_keeps_the_failed_status_and_message(project):
    result = _run(project, CRONJOBS_TEST_RUN_FAILS="1", CRONJOBS_TEST_HOOK_FAILS="on_failure")
    assert result.returncode == 1
    [(_, _, status, message, _)] = project.ran(CODE)
    assert status == "failed"
    assert message == "ValueError: the job failed; hook on_failure raised RuntimeError: on_failure went wrong"


class _FailsAndItsHookFails(BaseCronJob):
    schedule = "* * * * *"
    code = "test.fails_and_hook_fails"
    timeout = timedelta(seconds=0.5)
    retries = 2
    retry_on = (ConnectionError,)
    errors: list = []

    def run(self):
        time.sleep(5)

    def on_failure(self, error):
        type(self).errors.append(error)
        raise RuntimeError("hook broke")


@pytest.mark.django_db(transaction=True)
def test_on_failure_gets_the_timeout_and_a_failing_hook_keeps_the_outcome_as_it_was():
    result = run_job(_FailsAndItsHookFails, slot=datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc))
    assert result.status == "timed_out"
    [error] = _FailsAndItsHookFails.errors
    assert isinstance(error, JobTimeout)
    assert result.outcome.message == "stopped after 0:00:00.500000; hook on_failure raised RuntimeError: hook broke"
    assert result.run.message == result.outcome.message
    assert result.outcome.retryable is False  # retry_on names ConnectionError only
