"""Is cron running? What ``cronjobs health`` answers, from the database and a moment ``now``.

A job is **late** when its next slot (the first one not yet settled: run, missed or skipped)
came due more than ``max_lag`` before ``now``: nothing has been looking at it since, which is
what a lost crontab entry, a dead cron host or a wedged ``runcrons`` look like. A job that
``runcrons`` has never seen counts as late too (it has no watermark at all); a paused job is
never late, nor is a job held by maintenance mode (``cronjobs pause --all``). A run is
**stuck** when it is still recorded as running past its lease (its process stopped renewing it
and nobody has declared it crashed yet), or past its job's ``timeout`` by more than ``max_lag``
(it hangs while something keeps renewing its lease).

With ``failing=True`` (``cronjobs health --failing``), a job is also **failing** when its last
slot failed for good: failed, timed out, crashed or was interrupted with no retry left (the
streak that failure mail announces, ``failing_since`` on the job row, ended by its next
success). A paused job, or one held by maintenance mode, is not reported as failing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cronjobs.jobs import BaseCronJob
from cronjobs.models import Job, Maintenance, Run
from cronjobs.ops import maintenance


@dataclasses.dataclass(frozen=True)
class JobHealth:
    code: str
    state: str
    """``"ok"``, ``"late"``, ``"unseen"`` (never seen by runcrons), ``"paused"`` or ``"held"`` (maintenance mode)."""
    next_slot: datetime | None
    lag: timedelta | None
    """How long ago the next slot came due (None when it has not)."""
    failing_since: datetime | None = None
    """When its streak of slots that failed for good began (None while its last slot did not fail)."""

    @property
    def healthy(self) -> bool:
        return self.state in ("ok", "paused", "held")

    @property
    def failing(self) -> bool:
        return self.failing_since is not None and self.state in ("ok", "late")


@dataclasses.dataclass(frozen=True)
class StuckRun:
    run_id: int
    code: str
    slot: datetime
    started_at: datetime | None
    lease_until: datetime | None
    host: str
    pid: int | None
    reason: str


@dataclasses.dataclass(frozen=True)
class Report:
    now: datetime
    max_lag: timedelta
    jobs: list[JobHealth]
    stuck: list[StuckRun]
    maintenance: Maintenance | None = None
    """The switch when maintenance mode is on."""
    failing_counts: bool = False
    """Whether jobs whose last slot failed for good make the report unhealthy (``--failing``)."""

    @property
    def late(self) -> list[JobHealth]:
        return [job for job in self.jobs if not job.healthy]

    @property
    def failing(self) -> list[JobHealth]:
        """The jobs whose last slot failed for good (only with ``failing_counts``)."""
        return [job for job in self.jobs if job.failing] if self.failing_counts else []

    @property
    def healthy(self) -> bool:
        return not self.late and not self.stuck and not self.failing

    def as_dict(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "healthy": self.healthy,
            "now": self.now.isoformat(),
            "max_lag_seconds": self.max_lag.total_seconds(),
            "failing_counts": self.failing_counts,
            "failing": [job.code for job in self.failing],
            "maintenance": (
                {"since": self.maintenance.since.isoformat(), "by": self.maintenance.actor}
                if self.maintenance is not None
                else None
            ),
            "jobs": [
                {
                    "code": job.code,
                    "state": job.state,
                    "next_slot": when(job.next_slot),
                    "lag_seconds": job.lag.total_seconds() if job.lag is not None else None,
                    "failing_since": when(job.failing_since),
                }
                for job in self.jobs
            ],
            "stuck_runs": [
                {
                    "id": run.run_id,
                    "job": run.code,
                    "slot": run.slot.isoformat(),
                    "started_at": when(run.started_at),
                    "lease_until": when(run.lease_until),
                    "host": run.host,
                    "pid": run.pid,
                    "reason": run.reason,
                }
                for run in self.stuck
            ],
        }


def check(jobs: Mapping[str, type[BaseCronJob]], now: datetime, max_lag: timedelta, *, failing: bool = False) -> Report:
    """The health of ``jobs`` at ``now``: three queries, whatever the number of jobs.

    ``failing``: jobs whose last slot failed for good make it unhealthy too."""
    rows = {row.code: row for row in Job.objects.filter(code__in=list(jobs))}
    switch = maintenance.current()
    found = []
    for code in sorted(jobs):
        row = rows.get(code)
        if maintenance.held(jobs[code], switch):
            found.append(JobHealth(code, "held", None, None))
            continue
        if row is None:
            found.append(JobHealth(code, "unseen", None, None))
            continue
        when, _ = row.next_run()
        if when is None:
            found.append(JobHealth(code, "paused", None, None))
            continue
        lag = now - when if when < now else None
        state = "late" if lag is not None and lag > max_lag else "ok"
        found.append(JobHealth(code, state, when, lag, row.failing_since))
    stuck = []
    running = Run.objects.filter(status=Run.Status.RUNNING, job_id__in=list(jobs)).order_by("started_at")
    for run in running:
        timeout = jobs[run.job_id].timeout
        if run.lease_until is not None and run.lease_until < now:
            reason = f"its lease ran out {words(now - run.lease_until)} ago"
        elif timeout and run.started_at and run.started_at + timeout + max_lag < now:
            reason = f"running for {words(now - run.started_at)}, its timeout is {words(timeout)}"
        else:
            continue
        stuck.append(
            StuckRun(run.pk, run.job_id, run.slot, run.started_at, run.lease_until, run.hostname, run.pid, reason)
        )
    return Report(now, max_lag, found, stuck, switch, failing)


def words(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172_800:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"
