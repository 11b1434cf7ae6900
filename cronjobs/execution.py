"""Running one claimed run: take the lock, call ``run()`` in a transaction, record the result."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
import traceback
from contextlib import nullcontext
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cronjobs import conf, locks, signals
from cronjobs.capture import Capture
from cronjobs.exceptions import Interrupted, JobTimeout
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Run

logger = logging.getLogger("cronjobs")

Status = Run.Status


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

    Returns the outcome; re-raises ``KeyboardInterrupt`` and :class:`Interrupted` after
    recording the run as interrupted, so the runner can stop.
    """
    code = job_cls.get_code()
    lock = None
    if job_cls.overlap == "skip":
        lock = locks.get_lock(job_cls.get_lock_name(), code, ttl=job_cls.lock_ttl)
        if not lock.acquire():
            holder = lock.holder() or "another process"
            return _finish(job_cls, run, Status.SKIPPED, 0.0, f"still running elsewhere: lock held by {holder}")
    signals.send(signals.run_started, job_cls, run=run)
    started = time.monotonic()
    status, message, trace = Status.SUCCEEDED, "", ""
    captured = Capture(conf.get("OUTPUT_LIMIT"))
    try:
        job = job_cls()
        job.slot, job.attempt, job.forced = run.slot, run.attempt, run.forced
        context = transaction.atomic() if job_cls.atomic else nullcontext()
        with captured, context:
            result = job.run()
        message = "" if result is None else str(result)
    except JobTimeout:
        status, message, trace = Status.TIMED_OUT, f"stopped after {job_cls.timeout}", traceback.format_exc()
    except (KeyboardInterrupt, Interrupted) as exc:
        message = str(exc) or "interrupted"
        _finish(job_cls, run, Status.INTERRUPTED, time.monotonic() - started, message, traceback.format_exc(), captured)
        raise
    except Exception as exc:
        status, message, trace = Status.FAILED, f"{type(exc).__name__}: {exc}", traceback.format_exc()
        logger.error("%s failed: %s", code, message, exc_info=True)
    finally:
        if lock is not None:
            lock.release()
    return _finish(job_cls, run, status, time.monotonic() - started, message, trace, captured)


def _finish(
    job_cls: type[BaseCronJob],
    run: Run,
    status: str,
    duration: float,
    message: str,
    trace: str = "",
    captured: Capture | None = None,
) -> Outcome:
    fields = {
        "status": status,
        "finished_at": timezone.now(),
        "duration": duration,
        "message": message,
        "traceback": trace,
        "output": captured.getvalue() if captured is not None else "",
    }
    Run.objects.filter(pk=run.pk).update(**fields)
    for name, value in fields.items():
        setattr(run, name, value)
    logger.info("%s %s: %s in %.3fs %s", run.job_id, run.slot.isoformat(), status, duration, message)
    outcome = Outcome(run.job_id, run.slot, run.attempt, status, duration, message, run.pk)
    signals.send(signals.run_finished, job_cls, run=run, outcome=outcome)
    return outcome


def new_run(code: str, slot: datetime, attempt: int, *, forced: bool = False, status: str = Status.RUNNING) -> Run:
    """An unsaved run record for this process."""
    return Run(
        job_id=code,
        slot=slot,
        attempt=attempt,
        forced=forced,
        status=status,
        started_at=timezone.now() if status == Status.RUNNING else None,
        hostname=hostname(),
        pid=os.getpid(),
    )
