"""Jitter (cronjobs.engine.jitter): a fleet of jobs spreads over the window, each slot runs once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cronjobs.engine import jitter

PATH = "tests.testapp.api_jobs."
WINDOW = timedelta(seconds=15)
#: The slot of the fleet test (any minute would do; a fixed one makes the plan known).
SLOT = datetime(2031, 3, 4, 5, 6, tzinfo=timezone.utc)


def test_the_offset_is_stable_within_the_window_and_differs_by_code_and_slot():
    slot = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
    first = jitter.offset("a.job", slot, WINDOW)
    assert first == jitter.offset("a.job", slot, WINDOW)
    assert timedelta(0) <= first < WINDOW
    offsets = {jitter.offset(f"job.{n}", slot, WINDOW) for n in range(100)}
    assert len(offsets) > 90
    assert jitter.offset("a.job", slot + timedelta(minutes=1), WINDOW) != first
    assert jitter.offset("a.job", slot, None) == timedelta(0)


def as_utc(value: object) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@pytest.mark.processes
@pytest.mark.parametrize("project", ["postgresql"], indirect=True)
def test_a_hundred_jobs_spread_over_the_window_and_each_slot_runs_once(project, libfaketime):
    codes = [f"test.jittered.{n:03d}" for n in range(100)]
    # A fixed slot, so that the starts the jitter plans for it are known: both processes start
    # at the very start of its minute (libfaketime), as cron would start them, then run at real speed.
    slot = SLOT
    for code in codes:
        project.seed_job(code, minutes_ago=1, now=slot)
    planned = {code: jitter.offset(code, slot, WINDOW) for code in codes}
    # The plan spreads the fleet over the window, not bunched: every third of it has a share.
    spread = sorted(planned.values())
    assert spread[-1] - spread[0] > WINDOW * 0.8
    thirds = [sum(1 for s in spread if WINDOW * k / 3 <= s < WINDOW * (k + 1) / 3) for k in range(3)]
    assert all(count >= 15 for count in thirds), thirds
    env = {
        "LD_PRELOAD": libfaketime,
        "FAKETIME": slot.strftime("@%Y-%m-%d %H:%M:%S"),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "TZ": "UTC",
        "CRONJOBS_TEST_JITTER": str(WINDOW.total_seconds()),
    }
    jobs = ",".join(f"{PATH}Jittered{n:03d}" for n in range(100))
    processes = [project.start("runcrons", jobs=jobs, env=env) for _ in range(2)]
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, out + err

    runs = project.query("SELECT job_code, slot, status FROM cronjobs_run WHERE status <> 'missed'")
    assert sorted((code, as_utc(s), status) for code, s, status in runs) == [(c, slot, "succeeded") for c in codes]
    effects = project.query("SELECT job, pid, created FROM testapp_effect ORDER BY id")
    assert sorted(code for code, _, _ in effects) == codes  # one effect per job: each slot ran once
    # Each job waited for its planned start (on its process's clock) before it ran...
    early = [(code, as_utc(created) - slot) for code, _, created in effects if as_utc(created) - slot < planned[code]]
    assert early == []
    # ...and each process ran the jobs it claimed in the order of their planned starts, so that
    # one job's wait never held back another's earlier start.
    for pid in {pid for _, pid, _ in effects}:
        ran = [planned[code] for code, p, _ in effects if p == pid]
        assert ran == sorted(ran), pid


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_sigterm_during_the_wait_records_the_claimed_slot_as_interrupted(project, libfaketime):
    import signal

    from tests.support.projects import stop, wait_for

    code = "test.long_jitter"
    # A slot of the next few minutes whose offset is long, and runcrons started then (libfaketime).
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    slot = next(
        now + timedelta(minutes=m)
        for m in range(1, 60)
        if jitter.offset(code, now + timedelta(minutes=m), timedelta(hours=1)) > timedelta(minutes=5)
    )
    project.seed_job(code, minutes_ago=1)
    env = {
        "LD_PRELOAD": libfaketime,
        "FAKETIME": slot.strftime("@%Y-%m-%d %H:%M:%S"),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "TZ": "UTC",
    }
    process = project.start("runcrons", jobs=PATH + "LongJitter", env=env)
    wait_for(lambda: project.count("cronjobs_run", "job_code = ? AND status = 'running'", (code,)) == 1)
    stop(process, signal.SIGTERM)
    # The signal ends the wait: the process exits long before the job's start, minutes away.
    process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    [(recorded, _, status, _, _)] = [r for r in project.runs(code) if r[2] != "missed"]
    assert (as_utc(recorded), status) == (slot, "interrupted")
    assert project.count("testapp_effect") == 0


def test_a_stop_asked_for_while_the_slot_was_claimed_ends_the_wait_at_once(monkeypatch):
    import signal

    from cronjobs.engine import stops
    from cronjobs.exceptions import Interrupted
    from tests.testapp.api_jobs import LongJitter

    now = datetime.now(timezone.utc)
    slot = next(  # a slot whose start is minutes away
        s
        for s in (now.replace(second=0, microsecond=0) - timedelta(minutes=m) for m in range(60))
        if jitter.start_of(LongJitter, s) > now + timedelta(minutes=2)
    )

    def waits(seconds: float) -> None:
        raise AssertionError(f"waited {seconds:.0f} s with a stop asked for")

    monkeypatch.setattr(jitter.leases, "sleep", waits)
    stops.request(signal.SIGTERM)  # as a SIGTERM while claiming: a flag, seen at the next safe point
    try:
        with pytest.raises(Interrupted):
            jitter.wait(LongJitter, slot)
    finally:
        stops.reset()
