"""The retry policy of a job: which errors are retried (``retry_on``) and how long after (backoff).

Attempt ``n`` (2 for the first retry) becomes due ``retry_delay * retry_backoff ** (n - 2)``
after the failure, at most ``retry_max_delay``; with ``retry_jitter`` (the default when
``retry_backoff`` is set) that delay is scaled by a stable factor in ``[0.5, 1]`` derived from
the job's code, the slot and the attempt, so jobs failing together do not retry together.
Without ``retry_backoff`` every retry waits ``retry_delay``, as before.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from cronjobs.jobs import BaseCronJob


def delay(job: type[BaseCronJob], slot: datetime, attempt: int) -> timedelta:
    """How long after a failure attempt ``attempt`` (2 or more) of ``slot`` becomes due."""
    base = job.retry_delay
    if not job.retry_backoff or not base:
        return base
    wait = base * (job.retry_backoff ** max(attempt - 2, 0))
    if job.retry_max_delay is not None and wait > job.retry_max_delay:
        wait = job.retry_max_delay
    if job.retry_jitter:
        digest = hashlib.sha256(f"{job.get_code()}|{slot.timestamp():.6f}|{attempt}".encode()).digest()
        wait *= 0.5 + 0.5 * (int.from_bytes(digest[:8], "big") / 2**64)
    return timedelta(seconds=round(wait.total_seconds(), 3))


def wanted(job: type[BaseCronJob], error: BaseException) -> bool:
    """Whether a run that failed with ``error`` is retried (``retry_on``; all errors when unset)."""
    if job.retry_on is None:
        return True
    return isinstance(error, tuple(job.retry_on))
