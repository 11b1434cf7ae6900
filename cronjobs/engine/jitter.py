"""Jitter: each slot of a job with ``jitter`` starts a stable pseudo-random offset after the slot.

The offset is derived from the job's code and the slot (a hash, not a random draw), so every
process and host computes the same one, a slot that is retried or recovered keeps it, and a
fleet of jobs on the same schedule spreads over the window instead of hitting the database on
the same second. The slot stays the run's key: the claim is taken first (so other processes
see the slot as taken at once), then the job waits for its offset and starts; the record's start
is its claim. runcrons runs the due jobs in the order of their start times, so one job's wait
does not hold back another's earlier start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cronjobs.engine import clock, leases, stops
from cronjobs.jobs import BaseCronJob

if TYPE_CHECKING:
    from cronjobs.engine.runner import Planned

#: Jitter is computed in milliseconds.
_RESOLUTION = 1000


def offset(code: str, slot: datetime, jitter: timedelta | None) -> timedelta:
    """The slot's offset in ``[0, jitter)``, the same in every process."""
    if not jitter:
        return timedelta(0)
    window = int(jitter.total_seconds() * _RESOLUTION)
    if window <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{code}|{slot.timestamp():.6f}".encode()).digest()
    return timedelta(milliseconds=int.from_bytes(digest[:8], "big") % window)


def start_of(job: type[BaseCronJob], slot: datetime) -> datetime:
    """When the job starts ``slot``: the slot plus its offset."""
    return slot + offset(job.get_code(), slot, job.jitter)


def order(items: Sequence[Planned]) -> list[Planned]:
    """The planned items in the order of their start times; without jitter, the order is kept."""
    if not any(item.job.jitter and item.slots is not None for item in items):
        return list(items)

    def key(item: Planned) -> float:
        if not item.job.jitter or item.slots is None or not item.slots.run:
            return 0.0  # forced, retries, nothing to run: first, as before
        return (start_of(item.job, max(item.slots.run)) - max(item.slots.run)).total_seconds()

    return sorted(items, key=key)


def wait(job: type[BaseCronJob], slot: datetime) -> None:
    """Wait until the job's start time for ``slot`` (not at all when it has passed).

    A stop (SIGTERM, Ctrl-C) ends the wait with its exception, as it would end the job; the
    leases of this process are renewed meanwhile.
    """
    if not job.jitter or clock.frozen():
        return
    left = (start_of(job, slot) - clock.now()).total_seconds()
    if left > 0:
        stops.check()
        leases.sleep(left)
        stops.check()
