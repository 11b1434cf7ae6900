"""Recording the runs of dead processes as crashed.

A run is ``running`` from its claim until its process records the result. A process that
died (SIGKILL, OOM, power loss) never does, so the next runner decides:

- its lease (``lease_until``, renewed by the heartbeat of a live process) has passed: crashed,
  whatever host it ran on;
- it ran on this host and its pid is gone: crashed at once, without waiting for the lease.

Both tests look at the run itself, never at the job's lock, so runs with ``overlap = "allow"``
(no lock, possibly several at once) are judged one by one, and a run that waits behind
another in the same process keeps its lease. A live process whose pid was reused is only
judged by its lease. The update is conditional on the run still being ``running``.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime

from django.db.models import Q

from cronjobs.engine.execution import Outcome, hostname
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Job, Run

logger = logging.getLogger("cronjobs")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def recover(jobs: dict[str, type[BaseCronJob]], now: datetime) -> list[Outcome]:
    """Record the runs of dead processes as crashed (and due for a retry when the job has retries)."""
    host = hostname()
    candidates = Run.objects.filter(status=Run.Status.RUNNING).filter(Q(lease_until__lt=now) | Q(hostname=host))
    outcomes = []
    for run in candidates.only("id", "job_id", "slot", "attempt", "hostname", "pid", "lease_until", "started_at"):
        expired = run.lease_until is not None and run.lease_until < now
        dead = run.hostname == host and run.pid is not None and run.pid != os.getpid() and not pid_alive(run.pid)
        if not (expired or dead):
            continue
        reason = f"process {run.pid} on {run.hostname} " + ("is gone" if dead else "stopped renewing its lease")
        duration = (now - run.started_at).total_seconds() if run.started_at else 0.0
        changed = (
            Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING)
            .filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True) | Q(hostname=host))
            .update(status=Run.Status.CRASHED, finished_at=now, duration=duration, message=reason)
        )
        if not changed:
            continue
        logger.error("%s %s #%d crashed: %s", run.job_id, run.slot.isoformat(), run.attempt, reason)
        outcomes.append(Outcome(run.job_id, run.slot, run.attempt, Run.Status.CRASHED, duration, reason, run.pk))
        job = jobs.get(run.job_id)
        if job is not None and run.attempt <= job.retries:
            Job.objects.filter(code=run.job_id, retry_at__isnull=True).update(
                retry_at=now + job.retry_delay, retry_slot=run.slot, retry_attempt=run.attempt + 1
            )
    return outcomes
