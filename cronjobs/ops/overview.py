"""What a person operating the jobs sees: schedule in words, next run, last run, lock holder.

Shared by ``manage.py cronjobs list`` and the admin. A few queries for all jobs together,
plus one look at each job's lock.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, Subquery

from cronjobs import locks, words
from cronjobs.exceptions import CronJobsError
from cronjobs.jobs import BaseCronJob
from cronjobs.models import NOT_RUNS, Job, Run
from cronjobs.schedules import UTC

logger = logging.getLogger("cronjobs")


class UnknownJob(CronJobsError, LookupError):
    """A job code that is neither registered nor recorded; the message suggests the closest."""


@dataclasses.dataclass(frozen=True)
class JobStatus:
    """One job as the list and the admin show it."""

    code: str
    job: type[BaseCronJob] | None
    """The job class; None for a code that has records but is no longer registered."""
    state: Job | None
    """The job's row; None until runcrons (or the admin) has seen the job."""
    schedule: str
    """The schedule in words."""
    zone: str
    """The job's time zone (cron expressions are read in it)."""
    next_run: datetime | None
    """When it runs next (UTC); None when paused or not registered."""
    next_reason: str
    """``"schedule"``, ``"retry"``, ``"requested"`` (run now), or ``""``."""
    last_run: Run | None
    """The newest run that is not running and not missed."""
    running: Run | None
    """A run of this job in progress, if any."""
    lock_holder: str | None
    """Who holds the job's lock (``host:pid:token``), as its backend tells."""

    @property
    def paused(self) -> bool:
        return bool(self.state and self.state.paused)

    @property
    def registered(self) -> bool:
        return self.job is not None

    @property
    def failing_since(self) -> datetime | None:
        return self.state.failing_since if self.state else None

    @property
    def locked_since(self) -> datetime | None:
        """When the lock holder's run started, where its run record names the same host and pid."""
        if self.lock_holder is None or self.running is None:
            return None
        host, _, rest = self.lock_holder.partition(":")
        pid = rest.partition(":")[0]
        if self.running.hostname == host and str(self.running.pid) == pid:
            return self.running.started_at
        return None

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``: plain values, datetimes in ISO 8601 UTC."""
        last = self.last_run
        return {
            "code": self.code,
            "registered": self.registered,
            "schedule": self.schedule,
            "timezone": self.zone,
            "paused": self.paused,
            "next_run": _iso(self.next_run),
            "next_run_local": _iso(self.next_run.astimezone(ZoneInfo(self.zone))) if self.next_run else None,
            "next_reason": self.next_reason,
            "failing_since": _iso(self.failing_since),
            "last_run": None
            if last is None
            else {
                "id": last.pk,
                "status": last.status,
                "slot": _iso(last.slot),
                "attempt": last.attempt,
                "started_at": _iso(last.started_at),
                "finished_at": _iso(last.finished_at),
                "duration": last.duration,
                "message": last.message,
            },
            "running": None
            if self.running is None
            else {"id": self.running.pk, "started_at": _iso(self.running.started_at)},
            "lock": None
            if self.lock_holder is None
            else {"holder": self.lock_holder, "since": _iso(self.locked_since)},
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def describe(job: type[BaseCronJob]) -> str:
    """The job's schedule in words, e.g. "every 5 minutes", "At 02:30 every day (Europe/Berlin)"."""
    try:
        words = job.get_schedule().describe()
        return words[:1].upper() + words[1:]
    except CronJobsError as exc:
        return f"invalid schedule: {exc}"


def last_run_ids() -> Subquery:
    """A subquery for annotating jobs with the id of their last run."""
    runs = Run.objects.filter(job_id=OuterRef("pk")).exclude(status__in=NOT_RUNS).order_by("-slot", "-attempt")
    return Subquery(runs.values("pk")[:1])


def collect(
    jobs: dict[str, type[BaseCronJob]], now: datetime, *, codes: Iterable[str] | None = None
) -> list[JobStatus]:
    """The status of every registered job (and of recorded codes no longer registered), by code."""
    states = {s.code: s for s in Job.objects.annotate(last_run_id=last_run_ids())}
    wanted = [*jobs, *sorted(set(states) - set(jobs))] if codes is None else list(codes)
    last_ids = [getattr(states[c], "last_run_id", None) for c in wanted if c in states]
    last_runs = Run.objects.in_bulk([i for i in last_ids if i is not None])
    running: dict[str, Run] = {}
    for run in Run.objects.filter(status=Run.Status.RUNNING, job_id__in=wanted).order_by("started_at"):
        running.setdefault(run.job_id, run)
    result = []
    for code in wanted:
        job, state = jobs.get(code), states.get(code)
        last = last_runs.get(getattr(state, "last_run_id", None) or 0)
        next_run, next_reason = _next_run(job, state, now)
        result.append(
            JobStatus(
                code=code,
                job=job,
                state=state,
                schedule=describe(job) if job else "not registered any more",
                zone=job.get_timezone() if job else "UTC",
                next_run=next_run,
                next_reason=next_reason,
                last_run=last,
                running=running.get(code),
                lock_holder=lock_holder(job) if job else None,
            )
        )
    return result


def _next_run(job: type[BaseCronJob] | None, state: Job | None, now: datetime) -> tuple[datetime | None, str]:
    if job is None:
        return None, ""
    if state is None:
        try:
            return job.get_schedule().next_after(now), "schedule"
        except CronJobsError:
            return None, ""
    return state.next_run()


def lock_holder(job: type[BaseCronJob]) -> str | None:
    """Who holds ``job``'s lock; a lock that cannot be asked says so instead of failing the page."""
    try:
        return get_lock(job).holder()
    except Exception as exc:  # any backend's failure: the list must still show
        logger.warning("%s: cannot read its lock: %s", job.get_code(), exc)
        return f"unknown ({type(exc).__name__}: {exc})"


def get_lock(job: type[BaseCronJob]) -> locks.Lock:
    return locks.get_lock(job.get_lock_name(), job.get_code(), ttl=job.lock_ttl)


def find_code(code: str, jobs: Iterable[str], *, recorded: bool = False) -> str:
    """``code`` if it names a registered job (or, with ``recorded``, one with records)."""
    known = set(jobs)
    if recorded:
        known |= set(Job.objects.values_list("code", flat=True))
    if code in known:
        return code
    close = difflib.get_close_matches(code, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known codes: {', '.join(sorted(known)) or 'none'}"
    raise UnknownJob(f"unknown job code {code!r}{hint}")


def when(moment: datetime | None, now: datetime, zone: str) -> str:
    """``2026-11-21 10:05 CET (09:05 UTC), in 4 min`` for a person."""
    if moment is None:
        return "-"
    local = moment.astimezone(ZoneInfo(zone))
    text = words.moment(moment, local.tzinfo)
    if local.utcoffset() != timedelta(0) or zone not in ("UTC", "Etc/UTC"):
        utc = moment.astimezone(UTC)
        text += f" ({utc:%Y-%m-%d %H:%M:%S} UTC)" if utc.date() != local.date() else f" ({utc:%H:%M:%S} UTC)"
    return f"{text}, {relative(moment, now)}"


def relative(moment: datetime, now: datetime) -> str:
    seconds = (moment - now).total_seconds()
    span = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if span >= size:
            amount = f"{span / size:.0f} {unit}"
            break
    else:
        amount = f"{span:.0f} s"
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"
