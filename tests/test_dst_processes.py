"""Real ``runcrons`` processes on a fake clock, at the moments a daylight-saving change matters.

What the runner decides at every minute of a year, in every zone and for every kind of
expression, is proven in process (tests/test_slots_differential.py against Debian cron's
rules, with the replay of the runner's calls and with the real runner on a simulated clock;
tests/test_schedules_dst.py, scenario by scenario). These tests prove that the process path
agrees: ``manage.py runcrons`` started as cron starts it, on a real database, runs the same
slots at the changes as the in-process replay, each once, each with one committed effect.

Each invocation is a new process whose clock libfaketime sets to the start of its minute
(``FAKETIME="@..."`` in UTC; it then runs at real speed, so the runner reads the moment it
would under cron, a fraction of a second after the minute). Python's ``time.time()``,
``datetime.now()`` and Django's ``timezone.now()`` all see it; the database server's clock
plays no part (the runner reads Python's clock once per pass). The monotonic clock stays real
(``FAKETIME_DONT_FAKE_MONOTONIC``), as faking it hangs the heartbeat's waits; with that
setting libfaketime 0.9.10 makes Python 3.11's ``time.sleep()`` fail (EINVAL), which runcrons
does not call on these paths.

Cron starts runcrons every minute; these tests start it at each slot of the jobs and at the
minute before and the minute after each change (invocations with nothing due, where the
offset changes under them). Between those, an invocation with nothing due reads its jobs and
changes nothing, so the slots run are those of invocations every minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cronjobs.schedules import CronSchedule
from tests.support.projects import Project
from tests.support.runner_replay import replay
from tests.testapp import dst_jobs

pytestmark = pytest.mark.processes

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
JOBS = "tests.testapp.dst_jobs."


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    slots = []
    while start <= end:
        slots.append(start)
        start += step
    return slots


def around(change: datetime) -> list[datetime]:
    """The minute before and the minute after a change of the offset (``change`` in UTC)."""
    return [change - MINUTE, change + MINUTE]


def invoke_at(project: Project, libfaketime: str, jobs: list[str], minutes: list[datetime]) -> None:
    """``runcrons`` as cron starts it: one process at the start of each of ``minutes``, in turn."""
    for minute in sorted(minutes):
        env = {
            "LD_PRELOAD": libfaketime,
            "FAKETIME": minute.strftime("@%Y-%m-%d %H:%M:%S"),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "TZ": "UTC",
        }
        result = project.manage("runcrons", jobs=",".join(JOBS + job for job in jobs), env=env)
        assert result.returncode == 0, f"runcrons at {minute:%H:%M} exited {result.returncode}:\n{result.stderr}"


def ran(project: Project, code: str) -> list[datetime]:
    """The slots the job ran, from its run records; each of them wrote exactly one effect."""
    records = [(as_utc(slot), attempt, status) for slot, attempt, status, _, _ in project.runs(code)]
    assert [r for r in records if r[1:] != (1, "succeeded")] == []
    effects = sorted(as_utc(row[0]) for row in project.query("SELECT slot FROM testapp_effect WHERE job = ?", (code,)))
    slots = [r[0] for r in records]
    assert effects == slots
    return slots


def replayed(job: type, first: datetime, last: datetime) -> list[datetime]:
    """The slots the in-process replay runs for ``job``, first seen at minute ``first``."""
    records = replay(CronSchedule(job.schedule, job.timezone), first, last)
    assert [r for r in records if r.status != "run"] == []
    return [r.slot for r in records]


def as_utc(value: object) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_runcrons_reads_the_fake_clock_whatever_the_database(project: Project, libfaketime: str):
    invoke_at(project, libfaketime, ["BerlinHalfPastTwo"], [utc(2026, 10, 25, 0, 29), utc(2026, 10, 25, 0, 30)])
    (first_seen,) = project.query("SELECT first_seen FROM cronjobs_job")[0]
    assert utc(2026, 10, 25, 0, 29) < as_utc(first_seen) < utc(2026, 10, 25, 0, 30)
    assert ran(project, "dst.berlin_half_past_two") == [utc(2026, 10, 25, 0, 30)]
    # The times of the run's record come from runcrons' clock, not the database server's.
    (started, finished) = project.query("SELECT started_at, finished_at FROM cronjobs_run")[0]
    assert utc(2026, 10, 25, 0, 30) < as_utc(started) <= as_utc(finished) < utc(2026, 10, 25, 0, 31)


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_runcrons_at_the_fall_back_in_berlin_and_new_york_runs_every_real_slot_once(project: Project, libfaketime: str):
    # Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC. 02:30 CEST is 00:30 UTC;
    # 02:30 CET, 01:30 UTC, is the same wall time again, and the fixed-time job stays put.
    first, last = utc(2026, 10, 25, 0, 29), utc(2026, 10, 25, 1, 30)
    invoke_at(
        project,
        libfaketime,
        ["BerlinQuarterHours", "BerlinHalfPastTwo"],
        [first, *every(first + MINUTE, last, 15 * MINUTE), *around(utc(2026, 10, 25, 1, 0))],
    )
    quarter_hours = every(utc(2026, 10, 25, 0, 30), last, 15 * MINUTE)  # 02:30, 02:45 CEST; 02:00, 02:15, 02:30 CET
    assert (
        ran(project, "dst.berlin_quarter_hours") == quarter_hours == replayed(dst_jobs.BerlinQuarterHours, first, last)
    )
    assert ran(project, "dst.berlin_half_past_two") == [utc(2026, 10, 25, 0, 30)]  # 02:30 CEST, once
    assert replayed(dst_jobs.BerlinHalfPastTwo, first, last) == [utc(2026, 10, 25, 0, 30)]

    # New York 2026-11-01 (a week later on the same database): 02:00 EDT becomes 01:00 EST at
    # 06:00 UTC; 01:50 EDT, then 01:00 and 01:10 EST.
    first, last = utc(2026, 11, 1, 5, 49), utc(2026, 11, 1, 6, 10)
    invoke_at(
        project,
        libfaketime,
        ["NewYorkTenMinutes"],
        [first, *every(first + MINUTE, last, 10 * MINUTE), *around(utc(2026, 11, 1, 6, 0))],
    )
    ten_minutes = every(utc(2026, 11, 1, 5, 50), last, 10 * MINUTE)
    assert ran(project, "dst.new_york_ten_minutes") == ten_minutes == replayed(dst_jobs.NewYorkTenMinutes, first, last)


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_runcrons_at_berlins_spring_forward_runs_the_gaps_fixed_slot_right_after_it(project: Project, libfaketime: str):
    # 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC; 02:30 never shows on the clock.
    first, last = utc(2026, 3, 29, 0, 44), utc(2026, 3, 29, 1, 15)
    invoke_at(
        project,
        libfaketime,
        ["BerlinQuarterHours", "BerlinHalfPastTwo"],
        [first, *every(first + MINUTE, last, 15 * MINUTE), *around(utc(2026, 3, 29, 1, 0))],
    )
    quarter_hours = every(utc(2026, 3, 29, 0, 45), last, 15 * MINUTE)  # 01:45 CET, 03:00 and 03:15 CEST
    assert (
        ran(project, "dst.berlin_quarter_hours") == quarter_hours == replayed(dst_jobs.BerlinQuarterHours, first, last)
    )
    assert ran(project, "dst.berlin_half_past_two") == [utc(2026, 3, 29, 1, 0)]  # 03:00 CEST
    assert replayed(dst_jobs.BerlinHalfPastTwo, first, last) == [utc(2026, 3, 29, 1, 0)]
