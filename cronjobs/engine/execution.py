"""Running one claimed run: take the lock, call ``run()`` in a transaction, record the result."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
import traceback
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from cronjobs import conf, locks, signals, statements
from cronjobs.engine import heartbeat
from cronjobs.engine.capture import Capture
from cronjobs.engine.timeouts import Deadline, job_running
from cronjobs.exceptions import Interrupted, JobTimeout, LockError
from cronjobs.jobs import BaseCronJob
from cronjobs.locks.database import DatabaseLock
from cronjobs.models import Run

logger = logging.getLogger("cronjobs")

Status = Run.Status

#: How the message of a run starts when its lock could not be taken (the lock backend failed).
LOCK_FAILED = "could not take the lock: "


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one run."""

    code: str
    slot: datetime
    attempt: int
    status: str
    duration: float
    message: str
    run_id: int | None = None

    @property
    def failed(self) -> bool:
        return self.status in (Status.FAILED, Status.TIMED_OUT, Status.CRASHED, Status.INTERRUPTED)


def hostname() -> str:
    return socket.gethostname()


def execute(job_cls: type[BaseCronJob], run: Run) -> Outcome:
    """Run ``job_cls`` for the claimed ``run`` and record how it ended.

    The lock (``overlap = "skip"``) is taken and released outside the job's transaction, and
    its lease renewed by the heartbeat meanwhile. The run is recorded before (a database lock:
    together with) the lock's release. Returns the outcome; re-raises ``KeyboardInterrupt`` and :class:`Interrupted`
    after recording the run as interrupted, so the runner can stop.
    """
    if job_cls.task_backend is not None:
        from cronjobs.engine.handoff import hand_off

        return _finish(job_cls, run, *hand_off(job_cls, run))
    code = job_cls.get_code()
    beat = heartbeat.get()
    lock = None
    try:
        if job_cls.overlap == "skip":
            lock = locks.get_lock(job_cls.get_lock_name(), code, ttl=job_cls.lock_ttl)
            try:
                acquired = lock.acquire()
                holder = None if acquired else lock.holder() or "another process"
            except LockError as exc:
                logger.error("%s: %s", code, exc)
                return _finish(job_cls, run, Status.FAILED, 0.0, f"{LOCK_FAILED}{exc}")
            if not acquired:
                lock = None
                return _finish(job_cls, run, Status.SKIPPED, 0.0, f"still running elsewhere: lock held by {holder}")
            beat.add_lock(lock)
        return _run(job_cls, run, lock)
    finally:
        beat.remove_run(run.pk)
        if lock is not None:
            beat.remove_lock(lock)
            try:
                lock.release()
            except LockError as exc:  # it expires on its own
                logger.error("%s: %s", code, exc)


def _run(job_cls: type[BaseCronJob], run: Run, lock: locks.Lock | None) -> Outcome:
    code = job_cls.get_code()
    signals.send(signals.run_started, job_cls, run=run)
    started = time.monotonic()
    status, message, trace = Status.SUCCEEDED, "", ""
    deadline = Deadline(job_cls.timeout)
    captured = Capture(conf.get("OUTPUT_LIMIT"))
    try:
        job = job_cls()
        job.slot, job.attempt, job.forced = run.slot, run.attempt, run.forced
        context = transaction.atomic() if job_cls.atomic else nullcontext()
        with captured, context, deadline, job_running():
            result = job.run()
        message = "" if result is None else str(result)
    except JobTimeout:
        status, message, trace = Status.TIMED_OUT, f"stopped after {job_cls.timeout}", traceback.format_exc()
    except (KeyboardInterrupt, Interrupted) as exc:
        message = str(exc) or "interrupted"
        elapsed = time.monotonic() - started
        _finish(job_cls, run, Status.INTERRUPTED, elapsed, message, traceback.format_exc(), captured, lock=lock)
        raise
    except Exception as exc:
        if deadline.fired:  # the interrupted query raised before the timeout did
            status, message = Status.TIMED_OUT, f"stopped after {job_cls.timeout}"
        else:
            status, message = Status.FAILED, f"{type(exc).__name__}: {exc}"
            logger.error("%s failed: %s", code, message, exc_info=True)
        trace = traceback.format_exc()
    if status == Status.TIMED_OUT:
        logger.error("%s timed out: %s", code, message)
    return _finish(job_cls, run, status, time.monotonic() - started, message, trace, captured, lock=lock)


def _finish(
    job_cls: type[BaseCronJob],
    run: Run,
    status: str,
    duration: float,
    message: str,
    trace: str = "",
    captured: Capture | None = None,
    *,
    lock: locks.Lock | None = None,
) -> Outcome:
    """Record how the run ended, then release ``lock`` (a database lock: in the same transaction)."""
    run.status, run.finished_at, run.duration = status, timezone.now(), duration
    run.message, run.traceback = message, trace
    run.output = captured.getvalue() if captured is not None else ""
    if isinstance(lock, DatabaseLock) and lock.db == Run.objects.db:
        with transaction.atomic(using=lock.db):  # one commit instead of two
            statements.finish_run(run)
            lock.release()
    else:
        statements.finish_run(run)
    logger.info("%s %s: %s in %.3fs %s", run.job_id, run.slot.isoformat(), status, duration, message)
    outcome = Outcome(run.job_id, run.slot, run.attempt, status, duration, message, run.pk)
    signals.send(signals.run_finished, job_cls, run=run, outcome=outcome)
    return outcome


def new_run(
    code: str,
    slot: datetime,
    attempt: int,
    *,
    forced: bool = False,
    status: str = Status.RUNNING,
    lease: timedelta | None = None,
) -> Run:
    """An unsaved run record for this process (a running one is alive for ``lease``)."""
    now = timezone.now()
    return Run(
        job_id=code,
        slot=slot,
        attempt=attempt,
        forced=forced,
        status=status,
        started_at=now if status == Status.RUNNING else None,
        lease_until=now + lease if status == Status.RUNNING and lease else None,
        hostname=hostname(),
        pid=os.getpid(),
    )
