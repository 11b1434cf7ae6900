"""``DatabaseBackend``: a Django Tasks backend that stores tasks in a table runcrons drains."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from typing import Any, ParamSpec, TypeVar

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.module_loading import import_string

from cronjobs.tasks import options
from cronjobs.tasks.models import QueuedTask
from cronjobs.tasks_api import (
    BaseTaskBackend,
    InvalidTaskError,
    Task,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_enqueued,
)
from cronjobs.text import unstorable

T = TypeVar("T")
P = ParamSpec("P")


class DatabaseBackend(BaseTaskBackend):
    """Stores each enqueued task as a row, written in the caller's transaction.

    ``runcrons`` drains the ready rows (see :mod:`cronjobs.tasks.worker`). ``OPTIONS`` sets
    the defaults of :data:`cronjobs.tasks.options.DEFAULTS`; ``@task_options`` overrides them
    per task.
    """

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = True

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        self.options = {**options.DEFAULTS, **self.options}

    # -- enqueueing ------------------------------------------------------------------

    def enqueue(self, task: Task[P, T], args: P.args, kwargs: P.kwargs) -> TaskResult:  # type: ignore[valid-type]
        self.validate_task(task)
        stored_args, stored_kwargs = json_arguments(task, args, kwargs)
        policy = self.policy(task)
        now = timezone.now()
        row = QueuedTask(
            task_path=task.module_path,
            backend=self.alias,
            queue_name=task.queue_name,
            priority=task.priority,
            args=stored_args,
            kwargs=stored_kwargs,
            run_after=task.run_after or now,
            deferred=task.run_after is not None,
            enqueued_at=now,
            max_attempts=policy.max_attempts,
            timeout=policy.timeout.total_seconds(),
        )
        QueuedTask.objects.insert(row)
        result = to_result(row, task)
        task_enqueued.send(type(self), task_result=result)
        return result

    def policy(self, task: Task) -> options.Policy:
        return options.policy_for(task, self.options)

    # -- results ---------------------------------------------------------------------

    def get_result(self, result_id: str) -> TaskResult:
        try:
            row = QueuedTask.objects.get(pk=result_id, backend=self.alias)
        except (QueuedTask.DoesNotExist, ValidationError, ValueError, TypeError):
            raise TaskResultDoesNotExist(result_id) from None
        return to_result(row, load_task(row.task_path, row.priority, row.queue_name, row.backend))


def json_arguments(task: Task, args: Any, kwargs: Any) -> tuple[list, dict]:
    """The arguments as they are stored; an argument JSON cannot hold is an error that names it."""
    stored_args = [_json_value(task, f"positional argument {i}", value) for i, value in enumerate(args)]
    stored_kwargs = {}
    for name, value in kwargs.items():
        stored_kwargs[name] = _json_value(task, f"argument {name!r}", value)
    return stored_args, stored_kwargs


def _json_value(task: Task, what: str, value: Any) -> Any:
    where = unstorable(value)
    if where is not None:
        raise InvalidTaskError(
            f"{task.module_path}: {what} cannot be stored: it holds {where}, which PostgreSQL or MySQL cannot "
            "store in JSON. Pass text without NUL characters and lone surrogates (bytes that are not UTF-8, "
            "as os.listdir gives them): decode such bytes, or pass them encoded (base64, os.fsencode(name).hex())."
        )
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidTaskError(
            f"{task.module_path}: {what} cannot be stored as JSON ({type(value).__name__}: {exc}). "
            "Pass JSON values (str, int, float, bool, None, lists and dicts of them), e.g. a primary key "
            "instead of a model instance."
        ) from None
    decoded = json.loads(text)
    if decoded != value and not _same_json(decoded, value):
        raise InvalidTaskError(
            f"{task.module_path}: {what} would not come back as it was passed ({value!r} would be "
            f"read as {decoded!r}). Pass JSON values (str, int, float, bool, None, lists and dicts with str keys)."
        )
    return decoded


def _same_json(decoded: Any, value: Any) -> bool:
    """Tuples come back as lists: the one change Django's own Tasks normalisation also makes."""
    if isinstance(value, (list, tuple)) and isinstance(decoded, list):
        return len(value) == len(decoded) and all(_same_json(d, v) for d, v in zip(decoded, value, strict=True))
    if isinstance(value, Mapping) and isinstance(decoded, dict):
        return list(value) == list(decoded) and all(_same_json(decoded[k], value[k]) for k in value)
    if isinstance(value, float) and isinstance(decoded, float):
        return decoded == value or (math.isnan(decoded) and math.isnan(value))
    return bool(decoded == value)


@functools.lru_cache(maxsize=1024)
def load_task(path: str, priority: int, queue_name: str, backend: str) -> Task:
    """The task stored as ``path``, as it was enqueued (one lookup per distinct task and options)."""
    found = import_string(path)
    if not isinstance(found, Task):
        raise InvalidTaskError(f"{path} is not a task (decorate it with @task).")
    changes: dict[str, Any] = {}
    if found.priority != priority:
        changes["priority"] = priority
    if found.queue_name != queue_name:
        changes["queue_name"] = queue_name
    if found.backend != backend:
        changes["backend"] = backend
    return found.using(**changes) if changes else found


def to_result(row: QueuedTask, task: Task) -> TaskResult:
    """The Django ``TaskResult`` a row stands for."""
    if row.deferred and task.run_after != row.run_after:
        task = task.using(run_after=row.run_after)
    result: TaskResult = TaskResult(
        task=task,
        id=str(row.id),
        status=TaskResultStatus(row.status),
        enqueued_at=row.enqueued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        last_attempted_at=row.last_attempted_at,
        args=row.args,
        kwargs=row.kwargs,
        backend=row.backend,
        errors=[
            TaskError(exception_class_path=e["exception_class_path"], traceback=e["traceback"]) for e in row.errors
        ],
        worker_ids=list(row.worker_ids),
    )
    object.__setattr__(result, "_return_value", row.return_value)
    return result
