"""Intervals under a minute, with real ``runcrons`` processes on the real clock.

A 20-second job has three slots a minute. Two cron-style invocations race at each minute
(cron on two hosts): they run the slot at the minute, stay for the other two, and exit before
the next minute's invocation. Two ``runcrons --loop`` processes race beside them. Every slot
runs once, on time, and nothing is recorded as missed.

libfaketime cannot be used here: with a faked clock it breaks ``time.sleep()``, which these
processes need; so the test waits for a real minute boundary (one to two minutes in all).
"""

from __future__ import annotations

import itertools
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.projects import Project, stop, wait_for
from tests.test_dst_processes import as_utc

pytestmark = [pytest.mark.processes, pytest.mark.slow]

UTC = timezone.utc
JOBS = "tests.testapp.subminute_jobs.TwentySecondsByCron,tests.testapp.subminute_jobs.TwentySecondsByLoop"
STEP = timedelta(seconds=20)


def sleep_until(moment: datetime) -> None:
    time.sleep(max((moment - datetime.now(UTC)).total_seconds(), 0.0))


def records(project: Project, code: str) -> list[tuple[datetime, str, datetime]]:
    rows = project.query(
        "SELECT slot, status, started_at FROM cronjobs_run WHERE job_code = ? ORDER BY slot, attempt", (code,)
    )
    return [(as_utc(slot), status, as_utc(started) if started else None) for slot, status, started in rows]


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_a_twenty_second_interval_runs_three_times_a_minute_each_slot_once_under_cron_and_under_loop(
    project: Project,
):
    start = datetime.now(UTC)
    boundary = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if (boundary - start).total_seconds() < 3:  # too close to tell the minutes apart
        sleep_until(boundary)
        start, boundary = datetime.now(UTC), boundary + timedelta(minutes=1)

    loops = [project.start("runcrons", "--loop", "sub.by_loop", jobs=JOBS) for _ in range(2)]
    # Cron's invocations of the minute that started before the test, then of the next one.
    first = [project.start("runcrons", "sub.by_cron", jobs=JOBS) for _ in range(2)]
    for process in first:
        process.wait(timeout=90)
        assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    # They stayed for the slots of their minute and left before the next one's invocation.
    assert datetime.now(UTC) < boundary

    sleep_until(boundary)
    second = [project.start("runcrons", "sub.by_cron", jobs=JOBS) for _ in range(2)]
    for process in second:
        process.wait(timeout=90)
        assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    left = datetime.now(UTC)
    assert boundary + 2 * STEP < left < boundary + timedelta(minutes=1)
    # The loops run the minute's last slot at the same moment as the cron invocations, which
    # have just left: stop them once it is recorded, not while they may still be claiming it.
    last = boundary + 2 * STEP
    wait_for(lambda: any(r[0] == last and r[1] != "running" for r in records(project, "sub.by_loop")), timeout=15)
    for process in loops:
        assert process.poll() is None  # still looping
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    for process in loops:
        stop(process)

    minute = [boundary, boundary + STEP, boundary + 2 * STEP]
    for code in ("sub.by_cron", "sub.by_loop"):
        rows = records(project, code)
        assert [r for r in rows if r[1] != "succeeded"] == [], code
        slots = [r[0] for r in rows]
        assert len(slots) == len(set(slots)), f"{code}: a slot ran twice"
        # Every slot from the first after the job was first seen: three in the whole minute.
        assert set(minute) <= set(slots), code
        assert slots == sorted(slots) and all(b - a == STEP for a, b in itertools.pairwise(slots)), code
        assert all(slot > start for slot in slots), code
        # On time: each started within a few seconds of its slot (a busy machine may lag).
        late = [(slot, started) for slot, _, started in rows if not slot <= started < slot + timedelta(seconds=3)]
        assert late == [], code
        effects = project.query("SELECT slot FROM testapp_effect WHERE job = ? ORDER BY slot", (code,))
        assert [as_utc(row[0]) for row in effects] == slots, code
