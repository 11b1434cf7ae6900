"""Intervals under a minute, with real ``runcrons`` processes on a shifted clock.

A 20-second job has three slots a minute. Two cron-style invocations race at each minute
(cron on two hosts): they run the slot at the minute, stay for the other two, and exit without
touching the next minute's. Two ``runcrons --loop`` processes race beside them. Every slot runs
once, not before its time, and nothing is recorded as missed.

The processes' clock is the real one shifted (tests/hosts/clock: Django's ``timezone.now``,
which cronjobs reads for slots, records and waits, while sleeps stay real), so that the test
starts a few seconds before a minute's end instead of waiting for a real one; the minute itself
passes in real time (about a minute in all). libfaketime cannot be used here: with a faked
clock it breaks ``time.sleep()``, which these processes need. How a stay is planned (each wake,
the end of the minute, an interval that does not divide a minute) is proven in process, on a
virtual clock, by tests/engine/test_wakeups.py.
"""

from __future__ import annotations

import itertools
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.projects import Project, clock_ahead, stop, wait_for
from tests.test_dst_processes import as_utc

pytestmark = [pytest.mark.processes, pytest.mark.slow]

UTC = timezone.utc
JOBS = "tests.testapp.subminute_jobs.TwentySecondsByCron,tests.testapp.subminute_jobs.TwentySecondsByLoop"
STEP = timedelta(seconds=20)
#: How long before a minute's end the processes' clock starts: more than a process takes to
#: start and see its jobs on a busy machine.
LEAD = timedelta(seconds=12)


def records(project: Project, code: str) -> list[tuple[datetime, str, datetime, int]]:
    rows = project.query(
        "SELECT slot, status, started_at, pid FROM cronjobs_run WHERE job_code = ? ORDER BY slot, attempt", (code,)
    )
    return [(as_utc(slot), status, as_utc(started) if started else None, pid) for slot, status, started, pid in rows]


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_a_twenty_second_interval_runs_three_times_a_minute_each_slot_once_under_cron_and_under_loop(
    project: Project,
):
    real = datetime.now(UTC)
    boundary = real.replace(second=0, microsecond=0) + timedelta(minutes=2)
    offset = (boundary - LEAD - real).total_seconds()  # the processes' clock: LEAD before the boundary
    clock = clock_ahead(offset)

    def now() -> datetime:  # the processes' clock, read by the test
        return datetime.now(UTC) + timedelta(seconds=offset)

    start = now()
    loops = [project.start("runcrons", "--loop", "sub.by_loop", jobs=JOBS, env=clock) for _ in range(2)]
    # Cron's invocations of the minute before: they see the job, find no slot left in their
    # minute, and leave.
    first = [project.start("runcrons", "sub.by_cron", jobs=JOBS, env=clock) for _ in range(2)]
    for process in first:
        out, err = process.communicate(timeout=90)
        assert process.returncode == 0, out + err
    assert project.count("cronjobs_job", "code = 'sub.by_cron'") == 1
    while now() > boundary - timedelta(seconds=2):  # they took longer than LEAD (a busy machine): the next minute
        boundary += timedelta(minutes=1)

    time.sleep(max((boundary - now()).total_seconds(), 0.0))
    second = [project.start("runcrons", "sub.by_cron", jobs=JOBS, env=clock) for _ in range(2)]
    for process in second:
        out, err = process.communicate(timeout=150)
        assert process.returncode == 0, out + err
    minute = [boundary, boundary + STEP, boundary + 2 * STEP]
    # They stayed for the slots of their minute, each run by one of them, and left without
    # running the next minute's.
    cron = [r for r in records(project, "sub.by_cron") if r[0] >= boundary]
    assert [r[0] for r in cron] == minute
    assert {r[3] for r in cron} <= {p.pid for p in second}
    # The loops run the minute's last slot at the same moment as the cron invocations, which
    # have just left: stop them once it is recorded, not while they may still be claiming it.
    last = boundary + 2 * STEP
    wait_for(lambda: any(r[0] == last and r[1] != "running" for r in records(project, "sub.by_loop")), timeout=60)
    for process in loops:
        assert process.poll() is None  # still looping
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    for process in loops:
        stop(process)

    for code in ("sub.by_cron", "sub.by_loop"):
        rows = records(project, code)
        assert [r for r in rows if r[1] != "succeeded"] == [], code  # none missed, none failed
        slots = [r[0] for r in rows]
        assert len(slots) == len(set(slots)), f"{code}: a slot ran twice"
        # Every slot from the first after the job was first seen: three in the whole minute.
        assert set(minute) <= set(slots), code
        assert slots == sorted(slots) and all(b - a == STEP for a, b in itertools.pairwise(slots)), code
        assert all(slot > start for slot in slots), code
        # Never before its slot; a slot woken for late would have been overtaken by the next
        # one and recorded as missed, which none was.
        early = [(slot, started) for slot, _, started, _ in rows if started < slot]
        assert early == [], code
        effects = project.query("SELECT slot FROM testapp_effect WHERE job = ? ORDER BY slot", (code,))
        assert [as_utc(row[0]) for row in effects] == slots, code
