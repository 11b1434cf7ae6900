"""Scheduled jobs that hand their work to a Django Tasks backend instead of running inline.

With ``task_backend = "default"`` on a job, runcrons still claims each slot exactly once and
records the run, but the run only enqueues :func:`run_cron_job`; the job's ``run()`` then
executes wherever that backend's workers are (this package's DatabaseBackend, drained by
runcrons, or a broker-backed backend such as django-tasks-rq's).

With ``@cron(...)`` on a Django Tasks task (:mod:`cronjobs.decorator`), the run enqueues that
task itself, on its own backend and queue, and is followed the same way.

When the backend can report results (``supports_get_result``), the run is then *handed off*
until the task's result is final; :mod:`cronjobs.engine.following` records it as succeeded or
failed. A backend that cannot report results gets the old record: succeeded once enqueued.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from django.db import transaction

from cronjobs.engine import asyncjobs
from cronjobs.engine.outcomes import Outcome
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Run
from cronjobs.tasks_api import OPTIONS_ATTRIBUTE, Task, task

logger = logging.getLogger("cronjobs")

P = ParamSpec("P")
R = TypeVar("R")


def hand_off(job_cls: type[BaseCronJob], run: Run) -> Outcome:
    """Enqueue the job's work for the claimed ``run`` and record the run: handed off (or, on a
    backend without results, succeeded), or failed when the enqueue failed."""
    from cronjobs.engine.execution import record, record_handed_off

    started = time.monotonic()
    alias = job_cls.task_backend
    assert alias is not None
    try:
        handed, arguments, keywords, what = _work(job_cls, run)
        result = handed.enqueue(*arguments, **keywords)
    except Exception as exc:
        logger.error("%s: could not hand off to task backend %r: %s", job_cls.get_code(), alias, exc, exc_info=True)
        duration = time.monotonic() - started
        return record(job_cls, run, Run.Status.FAILED, duration, f"{type(exc).__name__}: {exc}", traceback.format_exc())
    message = f"{what} task backend {alias!r} as task {result.id}"
    if not handed.get_backend().supports_get_result:
        return record(job_cls, run, Run.Status.SUCCEEDED, time.monotonic() - started, message)
    return record_handed_off(job_cls, run, alias, str(result.id), time.monotonic() - started, message)


def _work(job_cls: type[BaseCronJob], run: Run) -> tuple[Task, tuple[Any, ...], dict[str, Any], str]:
    """The task to enqueue for ``run``, its arguments, and how the run's message says it: a
    scheduled task itself (``@cron`` on a task, a stored schedule's task), else
    :func:`run_cron_job` for the job."""
    from cronjobs.decorator import TaskJob

    if issubclass(job_cls, TaskJob):
        return job_cls.task, job_cls.arguments, job_cls.keywords, f"enqueued {job_cls.task.module_path} on"
    handed = run_cron_job.using(backend=job_cls.task_backend, queue_name=job_cls.task_queue)
    return handed, (job_cls.get_code(), run.slot.isoformat(), run.attempt, run.forced), {}, "handed to"


def _atomic_as_the_job_says(function: Callable[P, R]) -> Callable[P, R]:
    """On cronjobs' DatabaseBackend, the job's own ``atomic`` decides, not the backend's ``ATOMIC``."""
    setattr(function, OPTIONS_ATTRIBUTE, {"ATOMIC": False})
    return function


@task
@_atomic_as_the_job_says
def run_cron_job(code: str, slot: str, attempt: int, forced: bool) -> str | None:
    """Run a job's ``run()`` for one slot, in a Tasks worker (enqueued by :func:`hand_off`)."""
    from cronjobs import registry

    job_cls = registry.get_jobs().get(code)
    if job_cls is None:
        raise LookupError(f"no cron job with code {code!r} is registered in this process")
    job = job_cls()
    job.slot, job.attempt, job.forced = datetime.fromisoformat(slot), attempt, forced
    with transaction.atomic(using=job_cls.database) if job_cls.atomic else nullcontext():
        result = asyncjobs.call(job.run) if asyncjobs.is_async(job.run) else job.run()  # type: ignore[arg-type]
    return None if result is None else str(result)
