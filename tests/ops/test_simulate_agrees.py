"""``cronjobs simulate`` and the real runner agree on intervals that do not divide a minute.

The reference is runcrons as cron starts it: an invocation at every minute boundary that runs
a pass of the real :class:`~cronjobs.engine.runner.Runner`, then (with an interval under a
minute) stays to the end of its minute, waking at each due slot (:mod:`cronjobs.engine.wakeups`),
with a fake clock, in the test database. The simulation skips the minutes in which nothing is
due; it must settle every slot as the reference does. And both must meet what the docs
promise: under a minute, each slot runs at its own time; otherwise in the first invocation at
or after it; none is missed while cron runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cronjobs import BaseCronJob
from cronjobs.engine import wakeups
from cronjobs.engine.runner import Runner
from cronjobs.models import Job, Run
from cronjobs.ops import simulation

pytestmark = pytest.mark.django_db
UTC = timezone.utc
MINUTE = timedelta(minutes=1)
BASE = datetime(2026, 3, 1, tzinfo=UTC)
AGREEMENT = settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True)
def _simulation_database(django_db_blocker):
    """The simulation's throwaway database is its own connection (as in test_simulate.py)."""
    with django_db_blocker.unblock():
        yield


def every(seconds: int) -> type[BaseCronJob]:
    return type(
        f"Every{seconds}s",
        (BaseCronJob,),
        {
            "__module__": __name__,
            "code": f"agree.every_{seconds}s",
            "interval": timedelta(seconds=seconds),
            "lock": "database",
            "run": lambda self: None,
        },
    )


def simulated(job: type[BaseCronJob], start: datetime, end: datetime) -> list[tuple[datetime, str, datetime]]:
    result = simulation.simulate({job.get_code(): job}, start, end)
    return [(step.slot, "missed" if step.status == "missed" else "ran", step.at) for step in result.steps]


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


def real_runner(job: type[BaseCronJob], start: datetime, end: datetime, monkeypatch) -> list[tuple]:
    """runcrons started by cron at every minute, the job first seen one second before ``start``."""
    Run.objects.all().delete()
    Job.objects.all().delete()
    jobs = {job.get_code(): job}
    clock = _Clock(start - timedelta(seconds=1))
    monkeypatch.setattr(django_timezone, "now", clock)
    records: list[tuple] = []

    def run_pass(now: datetime) -> list:
        outcomes = Runner(jobs, now=now).run()
        return [(o.slot, "missed" if o.status == "missed" else "ran", now) for o in outcomes]

    def invocation(now: datetime) -> None:
        clock.now = now
        records.extend(run_pass(now))
        if wakeups.sub_minute(jobs.values()):
            records.extend(wakeups.stay_in_minute(jobs, now, run_pass, idle=clock.set, clock=clock))

    invocation(clock.now)  # first sight (the invocation of that minute)
    minute = clock.now.replace(second=0, microsecond=0) + MINUTE
    while minute <= end:
        invocation(minute)
        minute += MINUTE
    monkeypatch.undo()
    return sorted(record for record in records if record[0] <= end)


def promised(seconds: int, start: datetime, end: datetime) -> list[tuple[datetime, str, datetime]]:
    """Each slot in [start, end]: at its own time under a minute, else at the next minute boundary
    (up to ``end``)."""
    first = -(-int(start.timestamp()) // seconds) * seconds
    slots = [datetime.fromtimestamp(t, UTC) for t in range(first, int(end.timestamp()) + 1, seconds)]
    if seconds < 60:
        return [(slot, "ran", slot) for slot in slots]
    ran = [(slot, "ran", simulation._minute_up(slot)) for slot in slots]
    return [record for record in ran if record[2] <= end]  # the last may run after the stretch


@pytest.mark.parametrize("seconds", [7, 45])
def test_an_interval_that_does_not_divide_a_minute_runs_every_slot_at_its_time_in_the_simulation(seconds):
    start, end = BASE, BASE + timedelta(minutes=3)
    assert simulated(every(seconds), start, end) == promised(seconds, start, end)


@AGREEMENT
@given(
    seconds=st.one_of(st.integers(1, 59), st.integers(60, 200)),
    offset=st.integers(0, 86_400 * 7),
    minutes=st.integers(1, 4),
)
def test_the_simulation_settles_every_slot_as_the_real_runner_does_and_as_promised(
    monkeypatch, seconds, offset, minutes
):
    job = every(seconds)
    start = BASE + timedelta(seconds=offset)
    end = start + timedelta(minutes=minutes)
    expected = promised(seconds, start, end)
    assert simulated(job, start, end) == expected
    assert real_runner(job, start, end, monkeypatch) == expected
