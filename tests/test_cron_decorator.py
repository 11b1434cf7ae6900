"""``@cron(...)`` on a function and on a task: a real job class, checked and run as any other
(the runcrons of these tests is the real command, in process; runcrons processes on PostgreSQL
are in tests/engine/test_decorated_processes.py)."""

from __future__ import annotations

import inspect
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest
from django.conf import settings
from django.core import checks
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from cronjobs import BaseCronJob, cron, registry
from cronjobs.decorator import NOT_FOR_TASKS, OPTIONS, FunctionJob, TaskJob, job_of
from cronjobs.jobs import CATCHUP_CHOICES
from cronjobs.models import Run
from cronjobs.tasks.models import QueuedTask
from cronjobs.tasks_api import Task
from cronjobs.testing import frozen_clock, run_job
from tests.testapp import scheduled
from tests.testapp.models import Effect

AT = datetime(2026, 12, 2, 10, 17, tzinfo=timezone.utc)


def jobs(*names: str) -> override_settings:
    return override_settings(
        CRONJOBS={**settings.CRONJOBS, "AUTODISCOVER": False, "JOBS": [f"tests.testapp.scheduled.{n}" for n in names]}
    )


# ----- the class it builds


def test_each_keyword_argument_becomes_the_attribute_of_the_job_class():
    options = {
        "timezone": "Europe/Berlin",
        "lock": "database",
        "lock_ttl": timedelta(minutes=3),
        "timeout": timedelta(minutes=2),
        "retries": 2,
        "retry_delay": timedelta(seconds=10),
        "retry_backoff": 2,
        "retry_on": (ConnectionError,),
        "catchup": "all",
        "overlap": "allow",
        "environments": ("production",),
        "between": ("08:00", "18:00"),
        "jitter": timedelta(seconds=5),
        "monitors": False,
        "run_in_maintenance": True,
        "code": "reports.daily",
    }

    @cron("0 6 * * *", **options)
    def daily_report():
        pass

    job = daily_report.cron_job
    assert issubclass(job, BaseCronJob) and issubclass(job, FunctionJob) and not job.abstract
    assert job.schedule == "0 6 * * *" and job.interval is None
    assert {name: getattr(job, name) for name in options} == options
    assert job.atomic is True and job.task_backend is None  # the rest: the class's defaults
    assert job.get_code() == "reports.daily"


def test_an_interval_alone_is_a_schedule():
    @cron(interval=timedelta(seconds=30))
    def often():
        pass

    assert often.cron_job.interval == timedelta(seconds=30) and often.cron_job.schedule is None
    assert cron(schedule="@daily")(lambda: None).cron_job.schedule == "@daily"


def test_the_keywords_are_every_class_attribute_but_abstract():
    attributes = {
        name
        for name, value in vars(BaseCronJob).items()
        if not name.startswith("_") and not inspect.isfunction(value) and not isinstance(value, classmethod)
    }
    assert set(OPTIONS) == attributes - {"abstract"}
    assert "abstract" not in OPTIONS and set(NOT_FOR_TASKS) <= set(OPTIONS)


def test_the_code_is_the_app_label_and_the_function_name_as_for_a_class():
    assert scheduled.writes_a_row_async.cron_job.get_code() == "testapp.writes_a_row_async"
    assert scheduled.bad_expression.cron_job.get_code() == "testapp.bad_expression"
    assert scheduled.enqueued.func.cron_job.get_code() == "test.task"  # code= wins

    @cron("@daily")
    def outside_any_app():
        pass

    assert outside_any_app.cron_job.get_code() == f"{__name__}.outside_any_app"


def test_the_decorator_returns_the_function_itself_and_the_task_itself():
    assert scheduled.writes_a_row.__name__ == "writes_a_row" and callable(scheduled.writes_a_row)
    assert job_of(scheduled.writes_a_row) is scheduled.writes_a_row.cron_job
    assert isinstance(scheduled.enqueued, Task) and scheduled.enqueued.func.__name__ == "enqueued"
    assert job_of(scheduled.enqueued) is scheduled.enqueued.func.cron_job
    assert issubclass(job_of(scheduled.enqueued), TaskJob)
    assert job_of(scheduled.enqueued).task is scheduled.enqueued
    assert job_of(scheduled.enqueued).task_backend == "default"
    assert job_of(lambda: None) is None and job_of(object()) is None


# ----- mistakes refused at import


def test_an_unknown_keyword_is_refused_naming_the_accepted_ones():
    with pytest.raises(TypeError) as caught:
        cron("* * * * *", timout=timedelta(minutes=1), color="red")
    message = str(caught.value)
    assert message.startswith("@cron got unknown keyword 'color', unknown keyword 'timout' (did you mean 'timeout'?);")
    assert message.endswith("it accepts " + ", ".join(OPTIONS))
    with pytest.raises(TypeError, match="unknown keyword 'abstract'"):
        cron("* * * * *", abstract=True)


@pytest.mark.parametrize(
    ("decorate", "says"),
    [
        (lambda f: cron(f), r"@cron needs a schedule: write @cron\(\"\*/5 \* \* \* \*\"\)"),
        (lambda f: cron("@daily", schedule="@hourly")(f), "the schedule twice"),
        (lambda f: cron("@daily")(BaseCronJob), "a job class sets schedule = ... itself"),
        (lambda f: cron("@daily")(print), "decorates a function or a Django Tasks task, not <built-in"),
        (lambda f: cron("@daily")(cron("@hourly")(f)), "is on a schedule already; one @cron per function"),
    ],
)
def test_a_misused_decorator_says_how_to_use_it(decorate, says):
    def work():
        pass

    with pytest.raises(TypeError, match=says):
        decorate(work)


def test_a_function_that_needs_arguments_or_yields_is_refused():
    with pytest.raises(TypeError, match=r"@cron: .*needs_one\(\) requires arguments; a scheduled function is called"):

        @cron("@daily")
        def needs_one(x):
            pass

    with pytest.raises(TypeError, match=r"yields; a scheduled function returns its message"):

        @cron("@daily")
        def yields():
            yield 1


@pytest.mark.parametrize("name", sorted(NOT_FOR_TASKS))
def test_options_that_do_not_apply_to_a_task_are_refused_saying_what_to_do(name):
    value = {"atomic": False, "database": "default", "timeout": timedelta(1)}.get(name, "default")
    with pytest.raises(TypeError, match=f"@cron on task enqueued: {name} does not apply: "):
        cron("@daily", **{name: value})(scheduled.enqueued.using(priority=1))


# ----- the system checks


def _errors() -> list[checks.CheckMessage]:
    registry.reset()
    return [m for m in checks.run_checks(tags=["cronjobs"]) if m.is_serious()]


class BadExpression(BaseCronJob):
    schedule = "*/61 * * * *"

    def run(self):
        pass


def test_a_bad_expression_is_the_same_check_error_as_on_a_class():
    paths = ["tests.testapp.scheduled.bad_expression", f"{__name__}.BadExpression"]
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": paths}):
        function, cls = _errors()
    assert function.id == cls.id == "cronjobs.E001" and function.hint == cls.hint
    assert function.msg.split(": ", 1)[1] == cls.msg.split(": ", 1)[1]
    line = scheduled.bad_expression.__code__.co_firstlineno  # the line of @cron(...)
    assert function.msg.startswith(
        f"bad_expression (code 'testapp.bad_expression', app testapp, tests/testapp/scheduled.py:{line}): bad schedule: "
    )
    assert function.obj is scheduled.bad_expression.cron_job


def test_every_other_option_is_checked_as_on_a_class():
    @cron("@daily", catchup="sometimes", lock="zookeeper", retries=-1)
    def sloppy():
        pass

    sys.modules[__name__].sloppy = sloppy
    try:
        with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": [f"{__name__}.sloppy"]}):
            found = _errors()
    finally:
        del sys.modules[__name__].sloppy
    assert [m.id for m in found] == ["cronjobs.E005", "cronjobs.E007", "cronjobs.E009"]
    assert f"catchup is 'sometimes'. Use one of {', '.join(map(repr, CATCHUP_CHOICES))}." in [
        f"{m.msg.split(': ', 1)[1]} {m.hint}" for m in found
    ]


def test_task_above_cron_is_a_check_error_saying_the_order():
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.testapp.scheduled.task_over_cron"]}):
        (found,) = _errors()
    assert found.id == "cronjobs.E125"
    assert "@task is applied over @cron(...), so each slot would call the function in runcrons" in found.msg
    assert found.hint == "Put @cron(...) above @task: the decorator nearest the def applies first."


@pytest.mark.django_db  # the registry reads the stored schedules too
def test_decorated_jobs_pass_the_checks():
    with jobs("writes_a_row", "writes_a_row_async", "enqueued", "enqueued_and_fails"):
        assert _errors() == []
        assert list(registry.get_jobs()) == [
            "test.function",
            "testapp.writes_a_row_async",
            "test.task",
            "test.task_fails",
        ]


def test_a_function_neither_decorated_nor_a_job_is_refused_in_jobs():
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.testapp.models.run_slow_query"]}):
        (found,) = _errors()
    assert found.id == "cronjobs.E011" and "nor a function or task under @cron(...)" in found.msg


# ----- discovery in an app's cron.py

CRON_PY = """
from cronjobs import cron
from cronjobs.tasks_api import task
from tests.testapp.models import Effect
from tests.testapp.scheduled import enqueued  # a task under @cron elsewhere, imported here


@cron("*/5 * * * *")
def refresh():
    Effect.objects.create(job="shop.refresh")


@cron("@hourly")
@task
def rebuild():
    pass


def helper():  # no @cron: not a job
    pass
"""


@pytest.fixture
def shop_app(tmp_path, monkeypatch):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "cron.py").write_text(textwrap.dedent(CRON_PY))
    monkeypatch.syspath_prepend(str(tmp_path))
    apps = [*settings.INSTALLED_APPS, "shop"]
    with override_settings(INSTALLED_APPS=apps, CRONJOBS={**settings.CRONJOBS, "AUTODISCOVER": True}):
        yield
    for name in [m for m in sys.modules if m.split(".")[0] == "shop"]:
        del sys.modules[name]


@pytest.mark.django_db
def test_functions_and_tasks_under_cron_in_an_apps_cron_py_are_jobs(shop_app):
    registry.reset()
    assert registry.discover().broken == []
    assert list(registry.get_jobs()) == ["test.task", "shop.refresh", "shop.rebuild"]
    assert _errors() == []


# ----- running


@pytest.mark.django_db(transaction=True)
@jobs("writes_a_row")
def test_a_function_runs_once_per_slot_and_its_return_value_is_the_message():
    with frozen_clock(AT) as clock:
        call_command("runcrons", "-v0")  # first seen: nothing due yet
        clock.tick()
        call_command("runcrons", "-v0")
        call_command("runcrons", "-v0")  # the same minute: nothing new
        clock.tick()
        call_command("runcrons", "-v0")
    runs = list(Run.objects.order_by("slot").values_list("slot", "status", "message"))
    assert runs == [
        (AT + timedelta(minutes=1), "succeeded", "wrote one row"),
        (AT + timedelta(minutes=2), "succeeded", "wrote one row"),
    ]
    assert Effect.objects.filter(job="test.function").count() == 2


@pytest.mark.django_db(transaction=True)
@jobs("writes_then_fails")
def test_a_function_runs_in_the_jobs_transaction_and_retries_as_a_class_does():
    with pytest.raises(CommandError):
        call_command("runcrons", "test.function_fails", "--force", "-v0")
    runs = list(Run.objects.order_by("attempt").values_list("attempt", "status", "message"))
    assert runs == [(attempt, "failed", "RuntimeError: boom after the write") for attempt in (1, 2)]
    assert "writes_then_fails" in Run.objects.first().traceback
    assert Effect.objects.count() == 0  # rolled back with each run


@pytest.mark.django_db(transaction=True)
@jobs("writes_a_row_async")
def test_an_async_function_is_awaited_in_the_jobs_transaction():
    result = run_job(scheduled.writes_a_row_async.cron_job, force=True)
    assert (result.status, result.run.message) == ("succeeded", "wrote one row, awaited")
    assert Effect.objects.filter(job="test.function_async").count() == 1


@pytest.mark.django_db(transaction=True)
@jobs("enqueued")
def test_a_task_is_enqueued_once_per_slot_and_the_run_settles_from_its_result():
    with frozen_clock(AT) as clock:
        call_command("runcrons", "-v0")
        clock.tick()
        call_command("runcrons", "-v0")  # enqueues, drains the task, follows it to its result
        call_command("runcrons", "-v0")
        clock.tick()
        call_command("runcrons", "-v0")
    tasks = list(QueuedTask.objects.values_list("task_path", "args", "kwargs", "queue_name"))
    assert tasks == [("tests.testapp.scheduled.enqueued", [], {}, "default")] * 2
    runs = list(Run.objects.order_by("slot").values_list("slot", "status", "message", "task_backend"))
    assert runs == [
        (AT + timedelta(minutes=1), "succeeded", "ran as a task", "default"),
        (AT + timedelta(minutes=2), "succeeded", "ran as a task", "default"),
    ]
    assert set(Run.objects.values_list("task_id", flat=True)) == {
        str(pk) for pk in QueuedTask.objects.values_list("pk", flat=True)
    }
    assert Effect.objects.filter(job="test.task").count() == 2


@pytest.mark.django_db(transaction=True)
@jobs("enqueued")
def test_a_handed_off_task_run_says_what_it_enqueued():
    call_command("runcrons", "test.task", "--force", "-v0")  # with a code: no draining
    run = Run.objects.get()
    task_id = QueuedTask.objects.get().pk
    assert run.status == Run.Status.HANDED_OFF
    assert run.message == f"enqueued tests.testapp.scheduled.enqueued on task backend 'default' as task {task_id}"


@pytest.mark.django_db(transaction=True)
@jobs("enqueued_and_fails")
def test_a_failed_task_fails_its_run_with_the_tasks_error():
    with pytest.raises(CommandError, match="1 of 1 run"):
        call_command("runcrons", "--force", "-v0")
    run = Run.objects.get()
    assert (run.status, run.message) == ("failed", "ValueError: the task's work failed")
    assert "ValueError" in run.traceback
