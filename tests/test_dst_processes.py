"""Real ``runcrons`` processes, once a minute on a fake clock, through daylight-saving changes.

Each invocation is a new ``manage.py runcrons`` process whose clock libfaketime sets to the
start of its minute (``FAKETIME="@..."`` in UTC; it then runs at real speed, so the runner
reads the moment it would under cron, a fraction of a second after the minute). Python's
``time.time()``, ``datetime.now()`` and Django's ``timezone.now()`` all see it; the database
server's clock plays no part (SQLite here: the runner reads Python's clock once per pass).
The monotonic clock stays real (``FAKETIME_DONT_FAKE_MONOTONIC``), as faking it hangs the
heartbeat's waits; with that setting libfaketime 0.9.10 makes Python 3.11's ``time.sleep()``
fail (EINVAL), which runcrons does not call on these paths.

About 280 processes, two sequences side by side: two minutes or so on an idle machine.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.projects import Project, Server

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


def invoke_every_minute(project: Project, libfaketime: str, jobs: list[str], first: datetime, last: datetime) -> None:
    """``runcrons`` as cron starts it: one process at each minute of ``[first, last]``."""
    minute = first
    while minute <= last:
        env = {
            "LD_PRELOAD": libfaketime,
            "FAKETIME": minute.strftime("@%Y-%m-%d %H:%M:%S"),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "TZ": "UTC",
        }
        result = project.manage("runcrons", jobs=",".join(JOBS + job for job in jobs), env=env)
        assert result.returncode == 0, f"runcrons at {minute:%H:%M} exited {result.returncode}:\n{result.stderr}"
        minute += MINUTE


def ran(project: Project, code: str) -> list[datetime]:
    """The slots the job ran, from its run records; each of them wrote exactly one effect."""
    records = [(as_utc(slot), attempt, status) for slot, attempt, status, _, _ in project.runs(code)]
    assert [r for r in records if r[1:] != (1, "succeeded")] == []
    effects = sorted(as_utc(row[0]) for row in project.query("SELECT slot FROM testapp_effect WHERE job = ?", (code,)))
    slots = [r[0] for r in records]
    assert effects == slots
    return slots


def as_utc(value: object) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_runcrons_reads_the_fake_clock_whatever_the_database(project: Project, libfaketime: str):
    invoke_every_minute(project, libfaketime, ["BerlinHalfPastTwo"], utc(2026, 10, 25, 0, 29), utc(2026, 10, 25, 0, 30))
    (first_seen,) = project.query("SELECT first_seen FROM cronjobs_job")[0]
    assert utc(2026, 10, 25, 0, 29) < as_utc(first_seen) < utc(2026, 10, 25, 0, 30)
    assert ran(project, "dst.berlin_half_past_two") == [utc(2026, 10, 25, 0, 30)]
    # The times of the run's record come from runcrons' clock, not the database server's.
    (started, finished) = project.query("SELECT started_at, finished_at FROM cronjobs_run")[0]
    assert utc(2026, 10, 25, 0, 30) < as_utc(started) <= as_utc(finished) < utc(2026, 10, 25, 0, 31)


@pytest.mark.slow
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_runcrons_every_minute_through_the_fall_back_in_berlin_and_new_york_runs_every_real_slot_once(
    project: Project, libfaketime: str, tmp_path: Path
):
    # Side by side, each on its own clock and database (a runner a week ahead would take the
    # other's running claims for crashed): Berlin 2026-10-25, where 03:00 CEST becomes 02:00 CET
    # at 01:00 UTC, and New York 2026-11-01, where 02:00 EDT becomes 01:00 EST at 06:00 UTC.
    new_york = Project(Server("sqlite", str(tmp_path / "new_york.sqlite3"), tmp_path), tmp_path / "new_york")
    assert new_york.manage("migrate", "--verbosity", "0").returncode == 0
    berlin_jobs = ["BerlinQuarterHours", "BerlinHalfPastTwo"]
    with ThreadPoolExecutor(2) as pool:
        berlin = pool.submit(
            invoke_every_minute, project, libfaketime, berlin_jobs, utc(2026, 10, 24, 23, 59), utc(2026, 10, 25, 2, 0)
        )
        ny = pool.submit(
            invoke_every_minute,
            new_york,
            libfaketime,
            ["NewYorkTenMinutes"],
            utc(2026, 11, 1, 4, 59),
            utc(2026, 11, 1, 7, 0),
        )
        berlin.result()
        ny.result()
    assert ran(project, "dst.berlin_quarter_hours") == every(
        utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 2, 0), 15 * MINUTE
    )
    assert ran(project, "dst.berlin_half_past_two") == [utc(2026, 10, 25, 0, 30)]  # 02:30 CEST, once
    assert ran(new_york, "dst.new_york_ten_minutes") == every(
        utc(2026, 11, 1, 5, 0), utc(2026, 11, 1, 7, 0), 10 * MINUTE
    )


@pytest.mark.slow
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_runcrons_every_minute_through_berlins_spring_forward_runs_the_gaps_fixed_slot_right_after_it(
    project: Project, libfaketime: str
):
    # 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC; 02:30 never shows on the clock.
    invoke_every_minute(
        project,
        libfaketime,
        ["BerlinQuarterHours", "BerlinHalfPastTwo"],
        utc(2026, 3, 29, 0, 44),
        utc(2026, 3, 29, 1, 16),
    )
    assert ran(project, "dst.berlin_quarter_hours") == every(
        utc(2026, 3, 29, 0, 45), utc(2026, 3, 29, 1, 15), 15 * MINUTE
    )
    assert ran(project, "dst.berlin_half_past_two") == [utc(2026, 3, 29, 1, 0)]  # 03:00 CEST
