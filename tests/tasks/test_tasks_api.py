"""Django's Tasks API through cronjobs.tasks_api: django.tasks on Django 6, the backport on 5.2, all of it.

The tests assert against whichever framework is active: every class comes from
:mod:`cronjobs.tasks_api`, and on Django 6 they are checked to be ``django.tasks``' own.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from datetime import datetime, timedelta

import django
import pytest
from asgiref.sync import async_to_sync
from django.core import checks
from django.core.management import call_command
from django.test.utils import override_settings
from django.utils import timezone

from cronjobs import tasks_api
from cronjobs.tasks import checks as tasks_checks
from cronjobs.tasks.models import QueuedTask
from cronjobs.tasks_api import (
    InvalidTaskError,
    TaskResultDoesNotExist,
    TaskResultMismatch,
    TaskResultStatus,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)
from tests.testapp import tasks
from tests.testapp.models import Effect

pytestmark = pytest.mark.django_db(transaction=True)

DJANGO_6 = django.VERSION >= (6, 0)


#: Where each name of cronjobs.tasks_api lives in django.tasks (Django 6) and in the backport.
FRAMEWORK_NAMES = {
    "Task": (("django.tasks", "Task"), ("django_tasks.base", "Task")),
    "TaskContext": (("django.tasks", "TaskContext"), ("django_tasks", "TaskContext")),
    "TaskResult": (("django.tasks", "TaskResult"), ("django_tasks", "TaskResult")),
    "TaskResultStatus": (("django.tasks", "TaskResultStatus"), ("django_tasks", "TaskResultStatus")),
    "task": (("django.tasks", "task"), ("django_tasks", "task")),
    "task_backends": (("django.tasks", "task_backends"), ("django_tasks", "task_backends")),
    "BaseTaskBackend": (
        ("django.tasks.backends.base", "BaseTaskBackend"),
        ("django_tasks.backends.base", "BaseTaskBackend"),
    ),
    "TaskError": (("django.tasks.base", "TaskError"), ("django_tasks.base", "TaskError")),
    "InvalidTaskError": (("django.tasks.exceptions", "InvalidTask"), ("django_tasks.exceptions", "InvalidTaskError")),
    "InvalidTaskBackendError": (
        ("django.tasks.exceptions", "InvalidTaskBackend"),
        ("django_tasks.exceptions", "InvalidTaskBackendError"),
    ),
    "TaskResultDoesNotExist": (
        ("django.tasks.exceptions", "TaskResultDoesNotExist"),
        ("django_tasks.exceptions", "TaskResultDoesNotExist"),
    ),
    "TaskResultMismatch": (
        ("django.tasks.exceptions", "TaskResultMismatch"),
        ("django_tasks.exceptions", "TaskResultMismatch"),
    ),
    "task_enqueued": (("django.tasks.signals", "task_enqueued"), ("django_tasks.signals", "task_enqueued")),
    "task_started": (("django.tasks.signals", "task_started"), ("django_tasks.signals", "task_started")),
    "task_finished": (("django.tasks.signals", "task_finished"), ("django_tasks.signals", "task_finished")),
}


def test_every_name_is_the_active_frameworks_own_and_on_django_6_the_backport_is_never_imported():
    assert tasks_api.BUILT_IN is DJANGO_6
    assert set(FRAMEWORK_NAMES) == set(tasks_api.__all__) - {"BUILT_IN", "OPTIONS_ATTRIBUTE"}
    for name, (built_in, backport) in FRAMEWORK_NAMES.items():
        module, attribute = built_in if DJANGO_6 else backport
        assert getattr(tasks_api, name) is getattr(importlib.import_module(module), attribute), name
    if DJANGO_6:
        # Whether or not the backport is installed (the Django 6.0 session installs it): unused.
        assert "django_tasks" not in sys.modules


def test_the_check_asks_for_the_backport_on_django_5_only(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        tasks_checks.importlib.util, "find_spec", lambda name, *a: None if name == "django_tasks" else real(name, *a)
    )
    found = [m for m in checks.run_checks(tags=["cronjobs"]) if m.id == "cronjobs.E054"]
    if DJANGO_6:
        assert found == []
    else:
        assert [m.hint for m in found] == [
            'pip install "cronjobs[tasks]" (the django-tasks backport), or use Django 6.'
        ]


# -- results and exceptions -----------------------------------------------------------


def test_a_result_of_another_task_is_a_mismatch_and_an_unknown_id_does_not_exist():
    result = tasks.record.enqueue("a")
    with pytest.raises(TaskResultMismatch):
        tasks.record_mail.get_result(result.id)
    with pytest.raises(TaskResultDoesNotExist):
        tasks.record.get_result("00000000-0000-0000-0000-000000000000")


def test_priority_out_of_range_and_a_naive_run_after_are_invalid():
    with pytest.raises(InvalidTaskError):
        tasks.record.using(priority=101).enqueue("too high")
    with pytest.raises(InvalidTaskError):
        tasks.record.using(run_after=datetime(2030, 1, 1)).enqueue("naive")
    assert QueuedTask.objects.count() == 0


def test_using_sets_the_queue_priority_and_run_after_of_the_stored_task():
    later = timezone.now() + timedelta(hours=1)
    result = tasks.record.using(queue_name="other", priority=7, run_after=later).enqueue("later")
    found = tasks.record.using(queue_name="other", priority=7, run_after=later).get_result(result.id)
    assert (found.task.queue_name, found.task.priority, found.task.run_after) == ("other", 7, later)
    row = QueuedTask.objects.get()
    assert (row.queue_name, row.priority, row.run_after, row.deferred) == ("other", 7, later, True)
    assert task_backends["default"].get_result(result.id).task.queue_name == "other"


# -- async ------------------------------------------------------------------------------


def test_aenqueue_and_aget_result_work_and_a_coroutine_task_runs():
    result = async_to_sync(tasks.record_async.aenqueue)("async")
    assert result.status == TaskResultStatus.READY
    found = async_to_sync(tasks.record_async.aget_result)(result.id)
    assert (found.id, found.args) == (result.id, ["async"])
    assert call_command("runcrons", "--tasks-only", "-v0") is None
    async_to_sync(result.arefresh)()
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, "async")
    assert Effect.objects.get().job == "async"
    backend_result = async_to_sync(task_backends["default"].aget_result)(result.id)
    assert backend_result.status == TaskResultStatus.SUCCESSFUL


# -- context and signals -----------------------------------------------------------------


def test_a_task_that_takes_context_gets_the_frameworks_task_context():
    result = tasks.describe_context.enqueue()
    call_command("runcrons", "--tasks-only", "-v0")
    result.refresh()
    assert result.return_value == {"is_task_context": True, "result_id": result.id, "attempt": 1}


@override_settings(CRONJOBS={"AUTODISCOVER": False})
def test_runcrons_drains_a_task_with_the_frameworks_results_and_signals():
    framework = importlib.import_module("django.tasks" if DJANGO_6 else "django_tasks")
    signals = importlib.import_module(f"{framework.__name__}.signals")
    seen = []

    def receiver(signal, sender, task_result, **kwargs):
        seen.append((signal, type(task_result), task_result.status))

    for signal in (signals.task_enqueued, signals.task_started, signals.task_finished):
        signal.connect(receiver, dispatch_uid="test_tasks_api")
    try:
        result = tasks.record.enqueue("drained")
        call_command("runcrons", "-v0")
    finally:
        for signal in (signals.task_enqueued, signals.task_started, signals.task_finished):
            signal.disconnect(dispatch_uid="test_tasks_api")
    assert (signals.task_enqueued, signals.task_started, signals.task_finished) == (
        task_enqueued,
        task_started,
        task_finished,
    )
    assert seen == [
        (signals.task_enqueued, framework.TaskResult, "READY"),
        (signals.task_started, framework.TaskResult, "RUNNING"),
        (signals.task_finished, framework.TaskResult, "SUCCESSFUL"),
    ]
    found = framework.task_backends["default"].get_result(result.id)
    assert (type(found), found.status, found.return_value) == (framework.TaskResult, "SUCCESSFUL", "drained")
