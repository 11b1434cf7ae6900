"""Job classes made of the schedules stored in the database (:class:`~cronjobs.models.stored.StoredSchedule`).

As :mod:`cronjobs.decorator` does for ``@cron(...)``, each row becomes a real
:class:`~cronjobs.jobs.BaseCronJob` subclass, code ``db.<name>``, so first sight, slots, claims,
catch-up, locks, records, monitors and metrics treat it as any job:

- a task row enqueues its task once per slot, with the row's arguments, on the task's backend
  and queue, and the run follows the task to its final result (:mod:`cronjobs.engine.handoff`);
- a command row runs ``call_command(command, *args, **kwargs)`` in the job (a
  :class:`~cronjobs.jobs.CommandJob`).

A row is validated on save with the system checks' own rules and messages (:func:`problems`).
The registry reads the rows at each ``runcrons`` invocation and each pass of ``--loop``
(:func:`cronjobs.registry.refresh`); an unchanged row keeps its class, so a work horse that
knows it goes on. A row that can no longer be used (its task removed from code) still has its
slots, and each fails with the reason; one whose schedule is broken is left out, with an error
in the log.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.checks import CheckMessage
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import DatabaseError, connections, router
from django.utils.module_loading import import_string

from cronjobs.decorator import TaskJob, is_task
from cronjobs.exceptions import CronJobsError, ScheduleError
from cronjobs.jobs import BaseCronJob, CommandJob

if TYPE_CHECKING:
    from cronjobs.models.stored import StoredSchedule

logger = logging.getLogger("cronjobs")


class StoredTaskJob(TaskJob):
    """A task row: each slot enqueues the task with the row's arguments."""

    abstract = True


class StoredCommandJob(CommandJob):
    """A command row: each slot runs the command in the job."""

    abstract = True


class UnusableStoredJob(BaseCronJob):
    """A row whose task or command is gone: its slots come, and each fails saying why."""

    abstract = True
    reason: ClassVar[str] = ""

    def run(self) -> str | None:
        raise CronJobsError(self.reason)


class Unusable(ValueError):
    """What makes a row unusable, and the field it is about (None: the row as a whole)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


#: Which check ids speak of which field of the row.
FIELDS = {"cronjobs.E001": "schedule", "cronjobs.E003": "interval", "cronjobs.E004": "timezone"}
FIELDS |= {"cronjobs.E014": "command", "cronjobs.E015": "name", "cronjobs.E056": "task"}


# -- from a row to a class ------------------------------------------------------------------


def job_class(row: StoredSchedule) -> type[BaseCronJob]:
    """The job class of ``row``; raises :class:`Unusable` saying what is wrong with its task,
    command or arguments (its schedule is checked by :func:`problems`)."""
    attributes: dict[str, Any] = {**_schedule_only(row), "__doc__": row.description or None}
    args, kwargs = _arguments(row)
    if row.task and row.command:
        raise Unusable(None, "set a task or a command, not both")
    if row.task:
        task = _task(row.task, args, kwargs)
        attributes |= {"task": task, "task_backend": task.backend, "task_queue": task.queue_name}
        attributes |= {"arguments": tuple(args), "keywords": dict(kwargs)}
        return type(f"Stored_{row.name}", (StoredTaskJob,), attributes)
    if row.command:
        attributes |= {"command": row.command, "args": tuple(args), "options": dict(kwargs)}
        return type(f"Stored_{row.name}", (StoredCommandJob,), attributes)
    raise Unusable(None, "set a task (its dotted path) or a management command")


def _arguments(row: StoredSchedule) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(row.args, list):
        raise Unusable("args", f"arguments must be a JSON list, not {json.dumps(row.args)}")
    if not isinstance(row.kwargs, dict):
        raise Unusable("kwargs", f"keyword arguments must be a JSON object, not {json.dumps(row.kwargs)}")
    return row.args, row.kwargs


def _task(path: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    import inspect

    try:
        task = import_string(path)
    except ImportError as exc:
        raise Unusable("task", f"task {path!r} cannot be imported: {exc}") from None
    if not is_task(task):
        raise Unusable("task", f"{path!r} is not a Django Tasks task (a function under @task)")
    try:
        inspect.signature(task.func).bind(*(["context"] if task.takes_context else []), *args, **kwargs)
    except TypeError as exc:
        raise Unusable("args", f"the arguments do not fit task {path!r}: {exc}") from None
    return task


# -- validation -----------------------------------------------------------------------------


def problems(row: StoredSchedule) -> dict[str, list[str]]:
    """What is wrong with ``row``, by field: the system checks' errors for the job it makes
    (``cronjobs.E001`` a bad expression, ``E004`` an unknown zone, ``E014`` an unknown command...),
    and a task, command or arguments that cannot be used."""
    from cronjobs import registry
    from cronjobs.checks.base import where
    from cronjobs.checks.jobs import check_job, check_task_backend

    found: dict[str, list[str]] = {}
    try:
        job = job_class(row)
    except Unusable as exc:
        text = str(exc)
        found.setdefault(exc.field or NON_FIELD_ERRORS, []).append(text[:1].upper() + text[1:] + ".")
        # Its schedule is checked all the same, on a class with nothing to run.
        job = type(f"Stored_{row.name}", (BaseCronJob,), _schedule_only(row))
    prefix = f"{where(job)}: "
    messages: list[CheckMessage] = [*check_job(job), *check_task_backend(job)]
    for message in messages:
        if not message.is_serious():
            continue
        text = message.msg.removeprefix(prefix)
        said = f"{text[:1].upper()}{text[1:]} {message.hint} ({message.id})"
        found.setdefault(FIELDS.get(str(message.id), NON_FIELD_ERRORS), []).append(said)
    in_code = {cls.get_code() for cls in registry.discover().classes}
    if row.code in in_code:
        found.setdefault("name", []).append(f"A job in code has the code {row.code!r}; choose another name.")
    return found


def _schedule_only(row: StoredSchedule) -> dict[str, Any]:
    return {
        "code": row.code,
        "schedule": row.schedule or None,
        "interval": row.interval,
        "timezone": row.timezone or None,
        "__module__": __name__,
        "__qualname__": f"StoredSchedule[{row.name!r}]",
    }


# -- enabled is not paused --------------------------------------------------------------------


def follow_switch(row: StoredSchedule, was: StoredSchedule | None, now: datetime | None = None) -> None:
    """After ``row`` was saved (``was``: as it was before): its job paused when it is disabled,
    resumed from now when it was enabled again (the slots in between skipped, as after a
    resume), restarted from now when the row is new but its code had a job before."""
    from cronjobs.engine import clock
    from cronjobs.models import Job

    now = now or clock.now()
    job = _usable(row)
    if job is None:
        return
    if not row.enabled:
        Job.objects.ensure({row.code: job}, now)
        Job.objects.pause(row.code)
    elif was is None or not was.enabled or was.name != row.name:
        # Enabled again, or new under a code that had a job: its schedule starts from now.
        Job.objects.pause(row.code)
        Job.objects.resume(job, now)


def _usable(row: StoredSchedule) -> type[BaseCronJob] | None:
    try:
        job = job_class(row)
    except Unusable as exc:
        job = type(f"Stored_{row.name}", (UnusableStoredJob,), {**_schedule_only(row), "reason": str(exc)})
    try:
        job.get_schedule()
    except ScheduleError:
        return None
    return job


# -- the registry's part -----------------------------------------------------------------------

_classes: dict[tuple[Any, ...], type[BaseCronJob]] = {}


def read() -> dict[str, type[BaseCronJob]]:
    """Every stored schedule's job, by code, read from the database now. Before ``migrate``: none."""
    from cronjobs.models.stored import StoredSchedule

    rows = _rows(StoredSchedule)
    global _classes
    classes, jobs = {}, {}
    for row in rows:
        key = _key(row)
        job = _classes.get(key) or _usable(row)
        if job is None:
            logger.error("%s: stored schedule left out: its schedule is not usable; fix it in the admin", row.code)
            continue
        if issubclass(job, UnusableStoredJob):
            logger.error("%s: stored schedule cannot run: %s", row.code, job.reason)
        classes[key] = jobs[row.code] = job
    _classes = classes
    return jobs


def _rows(model: type[StoredSchedule]) -> list[StoredSchedule]:
    alias = router.db_for_read(model)
    try:
        return list(model.objects.using(alias).all())
    except DatabaseError:
        if model._meta.db_table not in connections[alias].introspection.table_names():
            return []  # not migrated yet (runcrons says so about its own tables)
        raise


def _key(row: StoredSchedule) -> tuple[Any, ...]:
    arguments = json.dumps([row.args, row.kwargs], sort_keys=True, default=str)
    return (row.name, row.description, row.task, row.command, arguments, row.schedule, row.interval, row.timezone)
