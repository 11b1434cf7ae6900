"""A runner frozen inside its transaction stalls no one, on PostgreSQL and MariaDB.

The runner stops itself (SIGSTOP) right after its run's record (and the release of its lock)
is written in the job's transaction, before the COMMIT: it holds the row locks of both, as a
paused VM or a host cut off without a TCP reset would, until its database session ends. Crash
recovery in every other runcrons skips that row instead of waiting for it, and a runner of the
same job finds its lock held; once the session is gone (here the
test ends it, as ``idle_in_transaction_session_timeout`` or ``wait_timeout`` would), the run
is recorded as crashed and its work is rolled back.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.projects import stop, wait_for

pytestmark = pytest.mark.processes

CODE = "test.freezes_before_commit"
JOBS = "FreezesBeforeCommit,EveryMinute"

#: The sessions of this database that are inside a transaction, but the caller's.
OPEN_TRANSACTIONS = {
    "postgresql": "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND state IN ('idle in transaction', 'idle in transaction (aborted)') AND pid <> pg_backend_pid()",
    "mysql": "SELECT t.trx_mysql_thread_id FROM information_schema.innodb_trx t"
    " JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id"
    " WHERE p.db = DATABASE() AND p.id <> CONNECTION_ID()",
}
END_SESSION = {"postgresql": "SELECT pg_terminate_backend({})", "mysql": "KILL {}"}


def stopped(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except OSError:
        return False


def statuses(project) -> list[str]:
    return [status for _, _, status, _, _ in project.runs(CODE) if status != "missed"]


def end_frozen_sessions(project) -> None:
    """What the server does to a session idle in its transaction past its timeout."""
    for (session,) in project.query(OPEN_TRANSACTIONS[project.vendor]):
        project.query(END_SESSION[project.vendor].format(int(session)))


@pytest.mark.parametrize("project", ["postgresql", "mysql"], indirect=True)
def test_a_runner_frozen_before_its_commit_stalls_no_other_job_and_is_crashed_once_its_session_ends(project):
    project.seed_job(CODE, minutes_ago=1)
    frozen = project.start("runcrons", jobs=JOBS.split(",")[0])
    try:
        wait_for(lambda: stopped(frozen.pid) or frozen.poll() is not None, timeout=120)
        assert frozen.poll() is None, frozen.communicate()
        assert project.query(OPEN_TRANSACTIONS[project.vendor]) != []  # it holds its transaction open
        assert statuses(project) == ["running"]  # its record is not committed
        time.sleep(2 + 1)  # past its lease (lock_ttl 2 s): its heartbeat is frozen with it

        # Another runner, for an unrelated job, with crash recovery: it neither waits nor fails.
        other = project.manage("runcrons", "--force", "test.every_minute", jobs=JOBS, timeout=120)
        assert other.returncode == 0, other.stdout + other.stderr
        assert "test.every_minute: succeeded" in other.stdout, other.stdout
        assert statuses(project) == ["running"]  # left for later, not waited for

        # A runner of the frozen job itself finds its lock held (its lease row too is locked).
        same = project.manage("runcrons", "--force", CODE, jobs=JOBS, timeout=120)
        assert same.returncode == 0, same.stdout + same.stderr
        assert statuses(project) == ["running", "skipped"], same.stdout + same.stderr

        end_frozen_sessions(project)
        wait_for(lambda: project.query(OPEN_TRANSACTIONS[project.vendor]) == [], timeout=60)
        later = project.manage("runcrons", "--force", "test.every_minute", jobs=JOBS, timeout=120)
        assert later.returncode in (0, 1), later.stdout + later.stderr  # 1: it reports the crash
        [(_, _, status, message, _), _] = [r for r in project.runs(CODE) if r[2] != "missed"]
        assert status == "crashed" and "stopped renewing its lease" in message, message
        # Its work rolled back with its session: no row of it.
        assert project.query("SELECT COUNT(*) FROM testapp_effect WHERE job = ?", (CODE,)) == [(0,)]
    finally:
        stop(frozen, signal.SIGCONT)
    frozen.communicate(timeout=60)  # it wakes up without its session, and ends
    assert statuses(project) == ["crashed", "skipped"]


@pytest.mark.parametrize("project", ["postgresql", "mysql"], indirect=True)
def test_check_database_warns_of_a_server_that_never_ends_a_frozen_session(project):
    result = project.manage("check", "--database", "default", "--tag", "cronjobs", "--fail-level", "ERROR")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cronjobs.W020" in result.stderr + result.stdout
    if project.vendor != "postgresql":
        return  # the setting is the server's own there (SET GLOBAL would change it for every other test)
    database = project.server.name
    project.query(f"ALTER DATABASE {database} SET idle_in_transaction_session_timeout = '10min'")
    try:
        result = project.manage("check", "--database", "default", "--tag", "cronjobs")
    finally:
        project.query(f"ALTER DATABASE {database} RESET idle_in_transaction_session_timeout")
    assert result.returncode == 0 and "cronjobs.W020" not in result.stderr + result.stdout, result.stderr
