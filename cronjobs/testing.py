"""Helpers for testing your jobs and schedules without cron: :func:`run_job`, :func:`frozen_clock`.

::

    from cronjobs.testing import frozen_clock, run_job

    def test_the_report_counts_todays_prices(db):
        result = run_job(NightlyReport)
        assert result.status == "succeeded"
        assert result.run.message == "0 price updates in the last 24 hours"

    def test_the_report_runs_at_half_past_two_berlin_time(db):
        with frozen_clock(datetime(2026, 3, 29, 0, 31, tzinfo=UTC)) as clock:
            call_command("runcrons")          # as cron would start it at that moment
            ...
            clock.tick(timedelta(days=1))

Both go through the real engine: the job's transaction, its lock, its timeout, its hooks and
conditions, and the run's record in the database. With pytest-django, the ``db`` fixture is
enough: an atomic job's transaction becomes a savepoint inside the test's. ``cronjobs_clock``
is the pytest fixture form of :func:`frozen_clock` (add ``pytest_plugins = ["cronjobs.testing"]``
to your ``conftest.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from cronjobs.engine import clock, leases
from cronjobs.engine.execution import execute
from cronjobs.engine.outcomes import Outcome
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Job, Run

__all__ = ["FrozenClock", "JobResult", "cronjobs_clock", "frozen_clock", "run_job"]


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What :func:`run_job` did: the outcome the runner reports, and the run's record."""

    outcome: Outcome
    run: Run
    """The run's row, as stored (status, message, output, traceback, duration...)."""

    @property
    def status(self) -> str:
        return self.outcome.status

    @property
    def succeeded(self) -> bool:
        return self.outcome.status == Run.Status.SUCCEEDED


def run_job(
    job: type[BaseCronJob], *, slot: datetime | None = None, force: bool = False, attempt: int = 1
) -> JobResult:
    """Run ``job`` once for ``slot`` through the engine and return its outcome and record.

    ``slot`` defaults to the job's newest slot at the clock's moment (:func:`frozen_clock`, or
    now). The slot runs whatever the job's schedule says; one that has a run already (the same
    job, slot and attempt) raises ``ValueError``, as a slot runs once. ``force=True`` makes it a
    forced run, which skips the job's conditions as ``runcrons --force`` does. Maintenance mode
    and pauses are not consulted: this runs the job you name.
    """
    now = clock.now()
    if slot is None:
        slot = now if force else _newest_slot(job, now)
    code = job.get_code()
    Job.objects.ensure({code: job}, now)
    run = Run.objects.claim(code, slot, attempt, lease=job.lock_ttl, forced=force)
    if run is None:
        raise ValueError(f"{code} already has a run for {slot.isoformat()} (attempt {attempt})")
    beat = leases.get()
    beat.add_run(run, job.lock_ttl)
    try:
        outcome = execute(job, run)
    finally:
        beat.remove_run(run.pk)
    return JobResult(outcome, Run.objects.writable().get(pk=run.pk))


def _newest_slot(job: type[BaseCronJob], now: datetime) -> datetime:
    """The job's newest slot at or before ``now`` (within a year and a day)."""
    newest = next(job.get_schedule().slots_back(now - timedelta(days=367), now), None)
    if newest is None:
        raise ValueError(f"{job.get_code()} has no slot in the year before {now.isoformat()}: pass slot=")
    return newest


class FrozenClock:
    """The runner's clock, held at :attr:`now` until moved with :meth:`tick` or :meth:`set`."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    @property
    def now(self) -> datetime:
        return clock.now()

    def set(self, at: datetime) -> datetime:
        clock.freeze(at)
        return at

    def tick(self, delta: timedelta = timedelta(minutes=1)) -> datetime:
        """Move the clock forward by ``delta`` (a minute by default); returns the new moment."""
        return self.set(clock.now() + delta)


@contextmanager
def frozen_clock(at: datetime) -> Iterator[FrozenClock]:
    """Hold the moment ``runcrons`` (and :func:`run_job`) reads at ``at`` (an aware datetime).

    Only cronjobs' clock is frozen: Django's ``timezone.now()`` in your code keeps real time
    (use time-machine or freezegun for that). Jitter does not wait while the clock is frozen.
    """
    previous = clock.now() if clock.frozen() else None
    try:
        yield FrozenClock(at)
    finally:
        clock.freeze(previous)


def _fixture() -> Any:
    try:
        import pytest
    except ImportError:  # pytest is not a dependency: no fixture without it
        return None

    @pytest.fixture
    def cronjobs_clock() -> Iterator[FrozenClock]:
        """The runner's clock, frozen at the start of the current minute; move it with ``tick()``."""
        start = clock.now().replace(second=0, microsecond=0)
        with frozen_clock(start) as frozen:
            yield frozen

    return cronjobs_clock


cronjobs_clock = _fixture()
