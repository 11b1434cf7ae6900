"""What a person can do to a job: pause, resume, run now, unlock. Each is recorded as an Action.

Used by ``manage.py cronjobs`` and by the admin; ``actor`` says who (a user name, or
``user@host`` on the command line).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from cronjobs.exceptions import LockError
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Action, Job
from cronjobs.ops import overview

logger = logging.getLogger("cronjobs")


def _record(code: str, kind: str, actor: str, now: datetime, detail: str = "") -> None:
    Action.objects.create(job_code=code, kind=kind, at=now, actor=actor, detail=detail)
    logger.info("%s: %s by %s%s", code, Action.Kind(kind).label, actor or "?", f" ({detail})" if detail else "")


def pause(job: type[BaseCronJob], actor: str, now: datetime) -> bool:
    """Stop running the job's slots until it is resumed; False if it was paused already."""
    code = job.get_code()
    with transaction.atomic():
        overview.ensure_rows({code: job}, now)
        changed = Job.objects.filter(code=code, paused=False).update(paused=True)
        if changed:
            _record(code, Action.Kind.PAUSE, actor, now)
    return bool(changed)


def resume(job: type[BaseCronJob], actor: str, now: datetime) -> bool:
    """Run the job's slots again from ``now`` on: those missed while paused are skipped, like
    for a new job (no catch-up, no missed records). False if it was not paused."""
    code = job.get_code()
    schedule = job.get_schedule()
    with transaction.atomic():
        overview.ensure_rows({code: job}, now)
        changed = Job.objects.filter(code=code, paused=True).update(
            paused=False,
            watermark=now,
            schedule_key=schedule.key,
            next_slot=schedule.next_after(now),
            retry_at=None,
            retry_slot=None,
            retry_attempt=None,
        )
        if changed:
            _record(code, Action.Kind.RESUME, actor, now, f"slots up to {now.isoformat()} skipped")
    return bool(changed)


def request_run(job: type[BaseCronJob], actor: str, now: datetime) -> None:
    """Have the next runcrons run the job once, as a forced run (even when paused or not due)."""
    code = job.get_code()
    with transaction.atomic():
        overview.ensure_rows({code: job}, now)
        Job.objects.filter(code=code).update(run_requested=now)
        _record(code, Action.Kind.RUN_NOW, actor, now, "runs at the next runcrons")


def unlock(job: type[BaseCronJob], actor: str, now: datetime) -> str | None:
    """Break the job's lock; returns the holder it took the lock from, or None if it was free.

    Raises :class:`~cronjobs.exceptions.LockError` when the backend cannot break locks.
    """
    code = job.get_code()
    try:
        holder = overview.get_lock(job).break_lock()
    except NotImplementedError:
        raise LockError(f"the {job.get_lock_name()!r} lock backend cannot break locks") from None
    if holder is not None:
        _record(code, Action.Kind.UNLOCK, actor, now, f"lock was held by {holder}")
    return holder
