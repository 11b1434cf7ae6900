"""What is in the queue, per queue: for ``cronjobs list``, the admin, and monitoring."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from django.db.models import Count, Q
from django.utils import timezone

from cronjobs.tasks.models import QueuedTask

Status = QueuedTask.Status


@dataclasses.dataclass(frozen=True)
class QueueCounts:
    """How many tasks of one queue are in each state."""

    queue_name: str
    ready: int
    """Ready now."""
    scheduled: int
    """Waiting for their run_after (deferred, or a retry's backoff)."""
    running: int
    failed: int
    succeeded: int


def queue_counts(now: datetime | None = None) -> list[QueueCounts]:
    """One entry per queue that has tasks, by queue name (one query)."""
    now = now or timezone.now()
    rows = (
        QueuedTask.objects.values("queue_name")
        .annotate(
            ready=Count("pk", filter=Q(status=Status.READY, run_after__lte=now)),
            scheduled=Count("pk", filter=Q(status=Status.READY, run_after__gt=now)),
            running=Count("pk", filter=Q(status=Status.RUNNING)),
            failed=Count("pk", filter=Q(status=Status.FAILED)),
            succeeded=Count("pk", filter=Q(status=Status.SUCCESSFUL)),
        )
        .order_by("queue_name")
    )
    return [QueueCounts(**row) for row in rows]


def format_counts(counts: list[QueueCounts]) -> list[str]:
    """Lines for a terminal: ``mail: 3 ready, 1 scheduled, 0 running, 2 failed, 40 succeeded``."""
    return [
        f"{c.queue_name}: {c.ready} ready, {c.scheduled} scheduled, {c.running} running, "
        f"{c.failed} failed, {c.succeeded} succeeded"
        for c in counts
    ]
