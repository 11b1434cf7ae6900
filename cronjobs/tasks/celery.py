"""A Django Tasks backend on Celery, which reports results: ``pip install "cronjobs[celery]"``.

::

    CELERY_BROKER_URL = "amqp://guest:guest@rabbitmq:5672//"
    CELERY_RESULT_BACKEND = "redis://redis:6379/1"
    TASKS = {"celery": {"BACKEND": "cronjobs.tasks.celery.CeleryBackend", "QUEUES": ["heavy"]}}

Workers: ``DJANGO_SETTINGS_MODULE=mysite.settings celery -A cronjobs.tasks.celery worker -Q heavy``.

Every Django task travels as one Celery task, :data:`TASK_NAME`, carrying the task's import path
and arguments; the worker imports the task and calls it. So any task runs on the workers, whichever
backend it was declared on (a job's :func:`~cronjobs.engine.handoff.run_cron_job`, handed over with
``.using(backend="celery")``, included), and nothing has to be registered with Celery beforehand.

:meth:`CeleryBackend.get_result` reads Celery's result backend (which must be a key-value one:
Redis, memcached, the filesystem...). On enqueue the backend writes a record of the task beside
Celery's result, with the same expiry (``CELERY_RESULT_EXPIRES``), so a result it never wrote, or
one that expired, is :class:`~django.tasks.exceptions.TaskResultDoesNotExist`, not a task forever
ready. Celery's delivery is at-least-once after a worker dies mid-task only with
``CELERY_TASK_ACKS_LATE``; by default a task is acknowledged when it starts (at most once).

The Celery app is :data:`app` (configured from the Django settings whose names start with
``CELERY_``); ``OPTIONS={"APP": "mysite.celery.app"}`` names your own, whose workers must then
import this module (``CELERY_IMPORTS = ["cronjobs.tasks.celery"]``).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from celery import Celery, shared_task, states
from celery.backends.base import BaseKeyValueStoreBackend
from django.core import checks
from django.utils import timezone as django_timezone
from django.utils.module_loading import import_string

from cronjobs.tasks_api import (
    BaseTaskBackend,
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_enqueued,
)

__all__ = ["TASK_NAME", "CeleryBackend", "app"]

#: The Celery task that runs every Django task sent by :class:`CeleryBackend`.
TASK_NAME = "cronjobs.run_task"
#: The suffix of the key of a task's record, after Celery's own key of its result.
RECORD_SUFFIX = ".cronjobs"

#: The Celery app of the backend (and of ``celery -A cronjobs.tasks.celery worker``).
app = Celery("cronjobs")
app.config_from_object("django.conf:settings", namespace="CELERY")

_STATUS = {
    states.PENDING: TaskResultStatus.READY,
    states.RECEIVED: TaskResultStatus.READY,
    states.RETRY: TaskResultStatus.READY,
    states.STARTED: TaskResultStatus.RUNNING,
    states.SUCCESS: TaskResultStatus.SUCCESSFUL,
    states.FAILURE: TaskResultStatus.FAILED,
    states.REVOKED: TaskResultStatus.FAILED,
    states.REJECTED: TaskResultStatus.FAILED,
    states.IGNORED: TaskResultStatus.FAILED,
}


@shared_task(name=TASK_NAME, bind=True)
def run_task(self: Any, module_path: str, args: list[Any], kwargs: dict[str, Any], backend: str) -> Any:
    """Import the Django task at ``module_path`` and call it (in a Celery worker)."""
    django_task = import_string(module_path)
    if not isinstance(django_task, Task):
        raise TypeError(f"{module_path} is not a Django task")
    if django_task.takes_context:
        now = django_timezone.now()
        result: TaskResult = TaskResult(
            task=django_task.using(backend=backend),
            id=str(self.request.id),
            status=TaskResultStatus.RUNNING,
            enqueued_at=None,
            started_at=now,
            finished_at=None,
            last_attempted_at=now,
            args=args,
            kwargs=kwargs,
            backend=backend,
            errors=[],
            worker_ids=[str(self.request.hostname)] * (self.request.retries + 1),
        )
        return django_task.call(TaskContext(task_result=result), *args, **kwargs)
    return django_task.call(*args, **kwargs)


class CeleryBackend(BaseTaskBackend):
    """Django tasks on Celery workers, with their results (see the module's doc)."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True

    @property
    def celery(self) -> Celery:
        path = self.options.get("APP")
        return import_string(path) if path else app

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        self.validate_task(task)
        celery = self.celery
        task_id = str(uuid.uuid4())
        args, kwargs = json.loads(json.dumps(list(args))), json.loads(json.dumps(dict(kwargs)))
        enqueued_at = django_timezone.now()
        record = {
            "task": task.module_path,
            "queue": task.queue_name,
            "args": args,
            "kwargs": kwargs,
            "enqueued_at": enqueued_at.isoformat(),
            "run_after": task.run_after.isoformat() if task.run_after else None,
        }
        # Before sending: a worker may store the result before this returns.
        celery.backend.set(self._record_key(celery, task_id), json.dumps(record))
        celery.send_task(
            TASK_NAME,
            args=[task.module_path, args, kwargs, self.alias],
            task_id=task_id,
            queue=task.queue_name,
            eta=task.run_after,
        )
        result = self._result(task, task_id, TaskResultStatus.READY, enqueued_at, args, kwargs)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        celery = self.celery
        raw = celery.backend.get(self._record_key(celery, result_id))
        if not raw:
            raise TaskResultDoesNotExist(result_id)
        record = json.loads(raw)
        task = import_string(record["task"]).using(backend=self.alias, queue_name=record["queue"])
        if record["run_after"]:
            task = task.using(run_after=datetime.fromisoformat(record["run_after"]))
        meta = celery.backend.get_task_meta(result_id)
        state = meta.get("status", states.PENDING)
        status = _STATUS.get(state, TaskResultStatus.READY)
        errors = []
        finished_at = None
        if status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
            finished_at = _aware(meta.get("date_done")) or django_timezone.now()
        if status == TaskResultStatus.FAILED:
            exc = meta.get("result")
            cls = type(exc) if isinstance(exc, BaseException) else RuntimeError
            trace = meta.get("traceback") or f"{cls.__name__}: {exc or state}"
            errors.append(TaskError(exception_class_path=f"{cls.__module__}.{cls.__qualname__}", traceback=trace))
        result = self._result(
            task,
            result_id,
            status,
            datetime.fromisoformat(record["enqueued_at"]),
            record["args"],
            record["kwargs"],
            finished_at=finished_at,
            errors=errors,
            worker=meta.get("worker"),
        )
        if status == TaskResultStatus.SUCCESSFUL:
            object.__setattr__(result, "_return_value", meta.get("result"))
        return result

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        messages = list(super().check(**kwargs))
        if not isinstance(self.celery.backend, BaseKeyValueStoreBackend):
            messages.append(
                checks.Error(
                    f"task backend {self.alias!r}: Celery's result backend is {type(self.celery.backend).__name__}, "
                    "which cannot keep the task records get_result() reads",
                    hint='Set CELERY_RESULT_BACKEND to a key-value store, e.g. "redis://host:6379/1".',
                    id="cronjobs.E059",
                )
            )
        return messages

    @staticmethod
    def _record_key(celery: Celery, task_id: str) -> Any:
        return celery.backend.get_key_for_task(task_id, key=RECORD_SUFFIX)

    def _result(
        self,
        task: Task,
        task_id: str,
        status: TaskResultStatus,
        enqueued_at: datetime,
        args: list[Any],
        kwargs: dict[str, Any],
        *,
        finished_at: datetime | None = None,
        errors: list[TaskError] | None = None,
        worker: str | None = None,
    ) -> TaskResult:
        return TaskResult(
            task=task,
            id=task_id,
            status=status,
            enqueued_at=enqueued_at,
            started_at=None,
            finished_at=finished_at,
            last_attempted_at=finished_at,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=errors or [],
            worker_ids=[worker] if worker else [],
        )


def _aware(value: Any) -> datetime | None:
    """Celery's ``date_done`` (an ISO string or a datetime, naive in UTC on older Celery) as an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
