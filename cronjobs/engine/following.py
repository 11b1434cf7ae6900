"""Following handed-off runs to their task's final result.

A job with ``task_backend`` records its run as ``handed_off`` once the task is enqueued
(:mod:`cronjobs.engine.handoff`). Every ``runcrons`` invocation (cron's, once a minute, after
the due jobs ran and ready tasks were drained, so that a task drained in the same invocation
settles at once) and every pass of ``runcrons --loop`` asks the backend about each handed-off
run: one indexed query when there are none, and none at all when no registered job has a
``task_backend`` (a project without hand-offs keeps idle ``runcrons`` at one query, and the
Tasks API is imported only when there is something to ask it). A final result is recorded through
:meth:`RunQuerySet.settle <cronjobs.models.runs.RunQuerySet.settle>`, conditional on the run
still being handed off, so when several hosts poll, one records it and only that one sends the
``run_finished`` signal (failure mail, monitors) and schedules a retry. A result the backend no
longer has (expired, deleted) fails the run, saying so; a backend that cannot be reached leaves
it handed off for the next pass.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from cronjobs import registry, signals
from cronjobs.engine.outcomes import Outcome
from cronjobs.models import Job, Run

logger = logging.getLogger("cronjobs")


def follow(now: datetime | None = None) -> list[Outcome]:
    """Record the handed-off runs whose task has finished; the outcomes recorded by this call.

    Their ``run_finished`` (failure mail, monitors, your receivers) is sent in the work horse, as
    for any run, unless runs are executed inline here."""
    from cronjobs.engine import supervisor

    inline = supervisor.inline_reason() is not None
    jobs = registry.get_jobs()
    if not any(job.task_backend for job in jobs.values()):
        return []
    runs = list(Run.objects.handed_off().order_by("slot", "attempt"))
    if not runs:
        return []
    now = now or timezone.now()
    outcomes = []
    for run in runs:
        verdict = _verdict(run)
        if verdict is None:
            continue
        status, message, trace, finished_at = verdict
        if not Run.objects.settle(run, status, message=message, traceback=trace, finished_at=finished_at or now):
            continue  # another runcrons recorded it first
        outcome = Outcome.of(run)
        outcomes.append(outcome)
        log = logger.error if run.failed else logger.info
        log("%s %s: handed-off task %s %s: %s", run.job_id, run.slot.isoformat(), run.task_id, run.status, message)
        job = jobs.get(run.job_id)
        if job is None:
            continue
        if run.failed and run.attempt <= job.retries:
            Job.objects.schedule_retry(run.job_id, now + job.retry_delay, run.slot, run.attempt + 1, replace=False)
        if inline:
            signals.send(signals.run_finished, job, run=run, outcome=outcome)
        else:
            supervisor.notify(job, run)
    return outcomes


def _verdict(run: Run) -> tuple[str, str, str, datetime | None] | None:
    """(status, message, traceback, finished at) once the run's task is final; None while it is not."""
    from cronjobs.tasks_api import InvalidTaskBackendError, TaskResultDoesNotExist, TaskResultStatus, task_backends

    where = f"task {run.task_id} on task backend {run.task_backend!r}"
    try:
        result = task_backends[run.task_backend].get_result(run.task_id)
    except TaskResultDoesNotExist:
        return Run.Status.FAILED, f"{where} no longer exists: its result is unknown", "", None
    except InvalidTaskBackendError as exc:
        return Run.Status.FAILED, f"{where}: the backend is no longer configured ({exc})", "", None
    except Exception as exc:  # the broker or its database is unreachable: ask again next time
        logger.warning("%s %s: cannot read %s yet: %s", run.job_id, run.slot.isoformat(), where, exc)
        return None
    if result.status == TaskResultStatus.SUCCESSFUL:
        value = result.return_value
        return Run.Status.SUCCEEDED, "" if value is None else str(value), "", result.finished_at
    if result.status == TaskResultStatus.FAILED:
        error = result.errors[-1] if result.errors else None
        if error is None:
            return Run.Status.FAILED, f"{where} failed", "", result.finished_at
        name = error.exception_class_path.rsplit(".", 1)[-1]
        last = error.traceback.strip().splitlines()[-1] if error.traceback.strip() else name
        message = last if last.startswith(name) else f"{name}: {last}"
        return Run.Status.FAILED, message, error.traceback, result.finished_at
    return None
