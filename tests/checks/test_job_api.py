"""System checks of hooks, conditions and maintenance attributes (cronjobs.E190-E195, W190-W191)."""

from __future__ import annotations

from django.core import checks

from cronjobs import BaseCronJob
from tests.checks.test_jobs_and_settings import errors_for
from tests.checks.test_jobs_and_settings import job as any_job


def job(name: str, **attrs):
    return any_job(name, schedule="@daily", **attrs)


def test_good_hooks_and_conditions_pass():
    path = job(
        "GoodApi",
        on_start=lambda self: None,
        on_success=lambda self, result: None,
        on_failure=lambda self, error: None,
        on_finish=lambda self, outcome: None,
        should_run=lambda self, slot: True,
        between=("08:00", "18:00"),
        unless_between=("12:00", "12:30"),
        environments=("production",),
        run_in_maintenance=True,
    )
    assert errors_for(path, ENVIRONMENT="production") == []


def test_each_mistake_is_an_error_with_its_id_and_hint():
    async def on_finish(self, outcome):
        pass

    path = job(
        "BadApi",
        on_success=lambda self: None,
        on_finish=on_finish,
        should_run=True,
        environments="production",
        between=("8", "18:00"),
        unless_between=("02:00", "02:00"),
        run_in_maintenance="yes",
    )
    cls = __import__("tests.checks.test_jobs_and_settings", fromlist=["BadApi"]).BadApi
    assert errors_for(path, ENVIRONMENT=3) == [
        checks.Error(
            "CRONJOBS['ENVIRONMENT'] is 3.",
            hint="Use a name such as 'production', matched against jobs' environments, or None.",
            id="cronjobs.E195",
        ),
        checks.Error(
            "BadApi: on_success does not accept on_success(self, result).",
            hint="Define def on_success(self, result).",
            obj=cls,
            id="cronjobs.E193",
        ),
        checks.Error(
            "BadApi: on_finish is a coroutine function; it would never be awaited.",
            hint="Define a plain def on_finish(self, outcome).",
            obj=cls,
            id="cronjobs.E193",
        ),
        checks.Error(
            "BadApi: should_run is True, not a method.",
            hint="Define def should_run(self, slot).",
            obj=cls,
            id="cronjobs.E193",
        ),
        checks.Error(
            "BadApi: environments is 'production'.",
            hint="Use a tuple of names, e.g. environments = ('production',) (note the comma).",
            obj=cls,
            id="cronjobs.E190",
        ),
        checks.Error(
            "BadApi: between Invalid isoformat string: '8'.",
            hint="Use two 'HH:MM' times in the job's zone, e.g. between = ('08:00', '18:00'); "
            "an end before the start spans midnight.",
            obj=cls,
            id="cronjobs.E191",
        ),
        checks.Error(
            "BadApi: unless_between ('02:00', '02:00') is an empty window (start equals end).",
            hint="Use two 'HH:MM' times in the job's zone, e.g. unless_between = ('08:00', '18:00'); "
            "an end before the start spans midnight.",
            obj=cls,
            id="cronjobs.E192",
        ),
        checks.Error("BadApi: run_in_maintenance is 'yes'.", hint="Use True or False.", obj=cls, id="cronjobs.E194"),
    ]


def test_a_wrong_hook_shared_by_several_jobs_is_an_error_on_each():
    class Mixin(BaseCronJob):
        def on_success(self):  # misses the result
            pass

    first, second = job("SharedHookA", base=Mixin), job("SharedHookB", base=Mixin)
    found = [m for m in errors_for(first, second, job("OwnHook")) if m.id == "cronjobs.E193"]
    assert [m.msg.split(":")[0] for m in found] == ["SharedHookA", "SharedHookB"]


def test_environments_without_the_setting_is_a_warning():
    path = job("EnvOnly", environments=["production"])
    assert [m.id for m in errors_for(path)] == ["cronjobs.W191"]
    assert errors_for(path, ENVIRONMENT="staging") == []


def test_hooks_on_a_handed_off_job_are_a_warning():
    path = job("HandedOff", on_start=lambda self: None, task_backend="default")
    assert "cronjobs.W190" in [m.id for m in errors_for(path, TASKS_BUDGET=None)]


def test_the_base_class_defines_no_hooks():
    from cronjobs.engine.hooks import defines_hooks

    assert not defines_hooks(BaseCronJob)


def test_jitter_must_be_a_positive_timedelta_shorter_than_the_interval():
    from datetime import timedelta

    assert errors_for(job("JitterOk", jitter=timedelta(seconds=30))) == []
    assert [m.id for m in errors_for(job("JitterBad", jitter=30))] == ["cronjobs.E196"]
    assert [m.id for m in errors_for(job("JitterNeg", jitter=timedelta(seconds=-1)))] == ["cronjobs.E196"]
    long = any_job("JitterLong", interval=timedelta(minutes=1), jitter=timedelta(minutes=2))
    assert [m.id for m in errors_for(long)] == ["cronjobs.W193"]


def test_each_mistake_in_the_retry_policy_is_an_error_with_its_id():
    from datetime import timedelta

    good = job("RetryOk", retries=3, retry_backoff=2, retry_max_delay=timedelta(hours=1), retry_on=(OSError,))
    assert errors_for(good) == []
    bad = job("RetryBad", retries=3, retry_backoff=0.5, retry_max_delay=0, retry_on=OSError, retry_jitter=None)
    assert [m.id for m in errors_for(bad)] == ["cronjobs.E197", "cronjobs.E198", "cronjobs.E199", "cronjobs.E200"]
    assert [m.id for m in errors_for(job("RetryNever", retry_on=(OSError,)))] == ["cronjobs.W194"]


def test_a_run_that_yields_is_an_error():
    async def run(self):
        yield 1

    def sync_run(self):
        yield 1

    async def good(self):
        return "ok"

    assert [m.id for m in errors_for(job("AsyncGen", run=run))] == ["cronjobs.E201"]
    assert [m.id for m in errors_for(job("SyncGen", run=sync_run))] == ["cronjobs.E201"]
    assert errors_for(job("AsyncOk", run=good)) == []
