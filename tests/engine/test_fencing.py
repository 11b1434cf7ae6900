"""Fencing, with real runcrons processes on each database: a run that lost its claim cannot commit.

Each slot's work commits once, with a record that tells the truth, even when a runner is
frozen past its lease (SIGSTOP stands for a long GC pause, a swapped-out VM, a partitioned
host), or killed between its last statement and its commit.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.projects import clock_ahead, stop, wait_for

pytestmark = pytest.mark.processes


def runs(project, code: str, slot: object = None) -> list[tuple[int, str, str]]:
    """(attempt, status, message) of the job's runs, oldest first, without "missed" slots; only
    those of ``slot`` if given (a test that outlasts a minute sees the next slot run too)."""
    return [
        (attempt, status, message)
        for at, attempt, status, message, _ in project.runs(code)
        if status != "missed" and (slot is None or at == slot)
    ]


def first_slot(project, code: str) -> object:
    return next(at for at, _, status, _, _ in project.runs(code) if status != "missed")


def effects(project, code: str, slot: object = None) -> list[tuple]:
    rows = project.query("SELECT slot, pid FROM testapp_effect WHERE job = ? ORDER BY id", (code,))
    return [row for row in rows if slot is None or row[0] == slot]


def recover(project, jobs: str, env: dict | None = None) -> None:
    """Have another runcrons with these jobs look for crashed runs (a pass with something to do does)."""
    result = project.manage("runcrons", "--force", "test.every_minute", jobs=f"EveryMinute,{jobs}", env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr


def test_a_run_declared_crashed_while_it_ran_commits_nothing_and_says_so(project):
    project.seed_job("test.declared_crashed", minutes_ago=1)
    result = project.manage("runcrons", jobs="DeclaredCrashedWhileRunning")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "test.declared_crashed: crashed" in result.stdout
    assert effects(project, "test.declared_crashed") == []  # its work was rolled back by the fence
    [(attempt, status, message)] = runs(project, "test.declared_crashed")
    assert (attempt, status) == (1, "crashed")  # the newer verdict stands...
    assert "stopped renewing its lease (the test)" in message
    assert "lost its claim: its work was rolled back" in message  # ...and the record says what happened


def test_a_job_that_is_not_atomic_keeps_its_work_and_its_record_says_it_may_have_run_twice(project):
    project.seed_job("test.not_atomic_declared_crashed", minutes_ago=1)
    result = project.manage("runcrons", jobs="NotAtomicDeclaredCrashed")
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(effects(project, "test.not_atomic_declared_crashed")) == 1
    [(_, status, message)] = runs(project, "test.not_atomic_declared_crashed")
    assert status == "crashed"
    assert "ended here (succeeded)" in message and "may have run twice" in message


def test_a_runner_frozen_past_its_lease_cannot_commit_and_the_retry_runs_the_slot_once(project):
    project.seed_job("test.freezes", minutes_ago=1)
    frozen = project.start("runcrons", jobs="Freezes,EveryMinute", env={"CRONJOBS_TEST_SLEEP": "6"})
    try:
        wait_for(lambda: [r[1] for r in runs(project, "test.freezes")] == ["running"])
        time.sleep(0.5)
        stop(frozen, signal.SIGSTOP)
        # The other runners' clock is past lock_ttl (2 s): for them its lock and its run's lease have lapsed.
        later = clock_ahead(2 + 2)
        recover(project, "Freezes", later)  # another runner records the run as crashed; its retry is due at once
        assert [r[:2] for r in runs(project, "test.freezes")] == [(1, "crashed")]
        retry = project.manage(
            "runcrons", "test.freezes", jobs="Freezes,EveryMinute", env={"CRONJOBS_TEST_SLEEP": "0", **later}
        )
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert "test.freezes: succeeded in" in retry.stdout and "(attempt 2)" in retry.stdout
    finally:
        stop(frozen, signal.SIGCONT)
    out, err = frozen.communicate(timeout=60)
    assert frozen.returncode == 1, out + err  # it came back, lost its claim, and says so
    slot = first_slot(project, "test.freezes")
    [(_, pid)] = effects(project, "test.freezes", slot)  # one committed execution of the slot: the retry's
    assert pid != frozen.pid
    (first, second) = runs(project, "test.freezes", slot)
    assert first[:2] == (1, "crashed") and "stopped renewing its lease" in first[2]
    assert "came back" in first[2] and "rolled back" in first[2]
    assert second[:2] == (2, "succeeded")


SLOW_TRIGGER = {
    "postgresql": [
        "CREATE FUNCTION cronjobs_test_slow() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(8); RETURN NEW; END $$"
        " LANGUAGE plpgsql",
        "CREATE TRIGGER cronjobs_test_slow AFTER UPDATE ON cronjobs_run FOR EACH ROW"
        " WHEN (NEW.status = 'succeeded') EXECUTE FUNCTION cronjobs_test_slow()",
    ],
    "mysql": [
        "CREATE TRIGGER cronjobs_test_slow AFTER UPDATE ON cronjobs_run FOR EACH ROW"
        " BEGIN IF NEW.status = 'succeeded' THEN DO SLEEP(8); END IF; END",
    ],
    "sqlite": [
        "CREATE TABLE cronjobs_test_rows (x INTEGER)",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3000) "
        "INSERT INTO cronjobs_test_rows SELECT x FROM c",
        "CREATE TRIGGER cronjobs_test_slow AFTER UPDATE ON cronjobs_run WHEN NEW.status = 'succeeded'"
        " BEGIN SELECT COUNT(*) FROM cronjobs_test_rows a, cronjobs_test_rows b, cronjobs_test_rows c; END",
    ],
}
DROP_TRIGGER = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS cronjobs_test_slow ON cronjobs_run",
        "DROP FUNCTION IF EXISTS cronjobs_test_slow",
    ],
    "mysql": ["DROP TRIGGER IF EXISTS cronjobs_test_slow"],
    "sqlite": ["DROP TRIGGER IF EXISTS cronjobs_test_slow", "DROP TABLE IF EXISTS cronjobs_test_rows"],
}


def test_a_runner_killed_between_its_last_statement_and_its_commit_leaves_neither_work_nor_record(project, tmp_path):
    marker = tmp_path / "returned"
    project.seed_job("test.killed_before_commit", minutes_ago=1)
    for sql in SLOW_TRIGGER[project.vendor]:
        project.query(sql)
    try:
        runner = project.start(
            "runcrons", jobs="KilledBeforeCommit,EveryMinute", env={"CRONJOBS_TEST_MARKER": str(marker)}
        )
        wait_for(marker.exists)
        time.sleep(1)  # run() has returned: the record, its transaction's last statement, is in the slow trigger
        assert runner.poll() is None, runner.communicate()
        stop(runner, signal.SIGKILL)
        runner.wait(timeout=10)
    finally:
        # PostgreSQL and MariaDB finish the sleep before they notice the client is gone.
        wait_for(lambda: _dropped(project), timeout=30, interval=0.5)
    assert effects(project, "test.killed_before_commit") == []  # no committed work...
    assert [r[1] for r in runs(project, "test.killed_before_commit")] == ["running"]  # ...and no record of success
    recover(project, "KilledBeforeCommit")  # its process is gone: crashed at once, and retried
    retry = project.manage("runcrons", "test.killed_before_commit", jobs="KilledBeforeCommit,EveryMinute")
    assert retry.returncode == 0, retry.stdout + retry.stderr
    slot = first_slot(project, "test.killed_before_commit")
    assert [r[:2] for r in runs(project, "test.killed_before_commit", slot)] == [(1, "crashed"), (2, "succeeded")]
    assert len(effects(project, "test.killed_before_commit", slot)) == 1  # each success has its work, once


def _dropped(project) -> bool:
    try:
        for sql in DROP_TRIGGER[project.vendor]:
            project.query(sql)
    except Exception:  # still locked by the killed runner's transaction: try again
        return False
    return True
