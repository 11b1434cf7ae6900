"""Locks, crashes, timeouts, signals and workers, with real runcrons processes on real databases."""

from __future__ import annotations

import itertools
import os
import signal
import time
from datetime import datetime, timezone

import pytest

from tests.support.leases import LAPSED, renewed_past_the_claim
from tests.support.projects import REDIS_URL, clock_ahead, require_redis, server_queries, stop, wait_for

pytestmark = pytest.mark.processes

LOCKS = ["file", "database", "cache"]
SLEEPERS = ",".join(f"SleepsOneSecond{n}" for n in range(1, 9))


def lock_env(lock: str) -> dict:
    if lock == "cache":
        require_redis()
    return {"CRONJOBS_TEST_LOCK": lock}


def lock_holder(project, lock: str, name: str, at: datetime | None = None) -> str | None:
    """Who holds the lock ``name`` now (a database lock: at the moment ``at``, if given), read
    from outside the runcrons processes."""
    if lock == "database":
        now = at or datetime.now(timezone.utc)
        rows = project.query("SELECT owner, expires_at FROM cronjobs_lease WHERE name = ?", (name,))
        if not rows or not rows[0][0]:
            return None
        expires = rows[0][1]
        if isinstance(expires, str):
            expires = datetime.fromisoformat(expires)
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        return rows[0][0] if expires >= now else None
    import redis

    prefix = project.env["CRONJOBS_TEST_CACHE_PREFIX"]
    value = redis.Redis.from_url(REDIS_URL).get(f"{prefix}:1:cronjobs:lock:{name}")
    return value.decode() if value else None


def statuses(project, code: str) -> list[str]:
    """The job's run statuses, sorted; without "missed" (a seeded job's older slot, when a test
    starts just after a minute turns)."""
    return sorted(row[2] for row in project.runs(code) if row[2] != "missed")


def wait_running(project, process, *codes: str) -> None:
    """Until each job has a running run; fails with the output if ``process`` ends first."""

    def running() -> bool:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"runcrons exited {process.returncode} early:\n{out}\n{err}")
        return all(statuses(project, code) == ["running"] for code in codes)

    wait_for(running)


@pytest.mark.parametrize("lock", LOCKS)
def test_a_job_longer_than_its_interval_never_runs_twice_at_once(project, lock):
    env = {**lock_env(lock), "CRONJOBS_TEST_SLEEP": "2.5"}
    started = [project.start("runcrons", "--force", jobs="Overlapping", env=env) for _ in range(4)]
    results = [(p.wait(timeout=90), *p.communicate()) for p in started]
    assert [r for r in results if r[0] != 0] == []
    ran = project.query("SELECT slot, created FROM testapp_effect WHERE job = 'test.overlapping' ORDER BY slot")
    assert ran
    for (_, end), (start, _) in itertools.pairwise(ran):
        assert end <= start, ran
    found = statuses(project, "test.overlapping")
    assert found.count("succeeded") == len(ran)
    outputs = "\n".join(f"--- runcrons {i}:\n{out}{err}" for i, (_, out, err) in enumerate(results))
    assert found.count("skipped") >= 1 and len(found) == 4, f"{found}\n{project.runs('test.overlapping')}\n{outputs}"


@pytest.mark.parametrize("lock", LOCKS)
def test_a_killed_runner_leaves_no_writes_no_stuck_lock_and_a_crashed_run(project, lock, tmp_path):
    written = tmp_path / "written"
    env = {**lock_env(lock), "CRONJOBS_TEST_MARKER": str(written)}
    project.seed_job("test.hangs", minutes_ago=1)
    process = project.start("runcrons", jobs="WritesThenHangs", env=env)
    wait_running(project, process, "test.hangs")
    wait_for(written.exists)  # the job has written its row, in its open transaction
    stop(process, signal.SIGKILL)
    process.wait(timeout=10)
    killed = datetime.now(timezone.utc)
    past_the_lease: dict = {}
    if lock != "file":  # a lease outlives its holder by at most lock_ttl (4 s)
        assert lock_holder(project, lock, "test.hangs") is not None
    if lock == "database":  # judged past lock_ttl, by the test and by the next runcrons, it has lapsed
        assert lock_holder(project, lock, "test.hangs", at=killed + LAPSED) is None
        past_the_lease = clock_ahead(LAPSED.total_seconds())
    elif lock == "cache":  # the cache server expires the key on its own clock
        wait_for(lambda: lock_holder(project, lock, "test.hangs") is None, timeout=4 + 10)
    again = project.manage(
        "runcrons", "--force", jobs="WritesThenHangs", env={**env, "CRONJOBS_TEST_SLEEP": "0", **past_the_lease}
    )
    assert again.returncode == 1, again.stderr  # it reports the crash it found
    assert "test.hangs: crashed" in again.stdout
    assert "test.hangs: succeeded" in again.stdout
    assert statuses(project, "test.hangs") == ["crashed", "succeeded"]
    assert project.count("testapp_effect", "job = 'test.hangs'") == 1  # the killed run's row is gone


def test_runs_that_allow_overlap_and_are_alive_are_not_taken_for_crashed(project):
    project.seed_job("test.allows_overlap", minutes_ago=1)
    first = project.start("runcrons", jobs="AllowsOverlap")
    second = project.start("runcrons", "--force", jobs="AllowsOverlap")
    try:
        wait_for(lambda: statuses(project, "test.allows_overlap") == ["running", "running"])
        # Past the lease taken at the claim: only the heartbeat keeps them alive.
        wait_for(lambda: renewed_past_the_claim(project, "test.allows_overlap", 2), timeout=60)
        third = project.manage("runcrons", "--force", jobs="AllowsOverlap", env={"CRONJOBS_TEST_SLEEP": "0"})
        assert third.returncode == 0, third.stdout + third.stderr
        assert statuses(project, "test.allows_overlap") == ["running", "running", "succeeded"]
    finally:
        stop(first)
        stop(second)
        first.wait(timeout=10)
        second.wait(timeout=10)


def test_timeouts_stop_loops_sleeps_and_slow_queries_and_the_other_jobs_run(project):
    codes = ["test.endless_loop", "test.long_sleep", "test.slow_query", "test.every_minute"]
    for code in codes:
        project.seed_job(code, minutes_ago=1)
    result = project.manage("runcrons", jobs="EndlessLoop,LongSleep,SlowQuery,EveryMinute", timeout=60)
    assert result.returncode == 1, result.stderr
    for code in codes[:3]:
        assert statuses(project, code) == ["timed_out"]
        assert f"{code}: timed out" in result.stdout
        assert project.count("testapp_effect", "job = ?", (code,)) == 0  # rolled back
    assert statuses(project, "test.every_minute") == ["succeeded"]
    assert project.count("testapp_effect", "job = 'test.every_minute'") == 1
    # The query was cancelled on the server, not left running after the client gave up.
    sql = {"postgresql": "SELECT pg_sleep(60)", "mysql": "SELECT SLEEP(60)"}.get(project.vendor, "")
    wait_for(lambda: server_queries(project, sql) == 0, timeout=30)


def test_sigterm_rolls_back_records_interrupted_and_releases_the_lock(project, tmp_path):
    written = tmp_path / "written"
    project.seed_job("test.hangs", minutes_ago=1)
    env = {"CRONJOBS_TEST_LOCK": "database", "CRONJOBS_TEST_MARKER": str(written)}
    process = project.start("runcrons", jobs="WritesThenHangs", env=env)
    wait_running(project, process, "test.hangs")
    wait_for(written.exists)  # the job has written its row, in its open transaction
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=45) == 128 + signal.SIGTERM
    assert "stopped" in process.communicate()[1]
    assert statuses(project, "test.hangs") == ["interrupted"]
    assert project.count("testapp_effect") == 0
    assert lock_holder(project, "database", "test.hangs") is None


def test_sigterm_stops_a_job_inside_a_slow_query_and_the_query_on_the_server(project):
    project.seed_job("test.slow_query_no_timeout", minutes_ago=1)
    process = project.start("runcrons", jobs="SlowQueryNoTimeout")
    wait_running(project, process, "test.slow_query_no_timeout")
    sql = {"postgresql": "SELECT pg_sleep(60)", "mysql": "SELECT SLEEP(60)"}.get(project.vendor, "")
    if sql:
        wait_for(lambda: server_queries(project, sql) == 1)  # inside the query
    else:
        time.sleep(1)  # inside the query by now (SQLite's runs in the process: nothing to see from outside)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=45) == 128 + signal.SIGTERM
    assert statuses(project, "test.slow_query_no_timeout") == ["interrupted"]
    assert project.count("testapp_effect") == 0
    wait_for(lambda: server_queries(project, sql) == 0, timeout=30)


def test_sigterm_to_a_runner_with_workers_stops_every_worker_cleanly(project):
    codes = ["test.quiet_1", "test.quiet_2"]
    for code in codes:
        project.seed_job(code, minutes_ago=1)
    env = {"CRONJOBS_TEST_LOCK": "database"}
    process = project.start("runcrons", "--workers", "2", jobs="HangsWithoutWriting1,HangsWithoutWriting2", env=env)
    wait_running(project, process, *codes)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)  # the runner only: it passes the signal on to its workers
    assert process.wait(timeout=45) == 128 + signal.SIGTERM
    for code in codes:
        assert statuses(project, code) == ["interrupted"]
        assert lock_holder(project, "database", code) is None
    assert project.query("SELECT COUNT(*) FROM cronjobs_run WHERE status = 'running'")[0][0] == 0


def test_workers_run_due_jobs_in_parallel_and_each_slot_once(project):
    for n in range(1, 9):
        project.seed_job(f"test.sleeps_{n}", minutes_ago=1)
    started = [project.start("runcrons", "--workers", "4", jobs=SLEEPERS) for _ in range(2)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in started]
    assert [r for r in results if r[0] != 0] == []
    effects = project.query("SELECT job, COUNT(*) FROM testapp_effect GROUP BY job")
    assert sorted(effects) == [(f"test.sleeps_{n}", 1) for n in range(1, 9)]
    assert project.count("cronjobs_run", "status = 'succeeded'") == 8
    assert len({row[0] for row in project.query("SELECT pid FROM testapp_effect")}) >= 2
    runs = project.query(
        "SELECT started_at, finished_at FROM cronjobs_run WHERE status = 'succeeded' ORDER BY started_at"
    )
    assert any(later[0] < earlier[1] for earlier, later in itertools.pairwise(runs)), "no two runs overlapped"


def test_workers_must_be_a_positive_number(project):
    result = project.manage("runcrons", "--workers", "0", jobs="EveryMinute")
    assert result.returncode == 2
    assert "'0': use 1 or more" in result.stderr


UNREACHABLE = {
    "sqlite": {"CRONJOBS_TEST_DB_NAME": "/nonexistent/cronjobs/db.sqlite3"},
    "postgresql": {"CRONJOBS_TEST_PG_PORT": "1"},
    "mysql": {"CRONJOBS_TEST_MYSQL_PORT": "1"},
}


def test_an_unreachable_database_is_one_line_that_names_it(project):
    result = project.manage("runcrons", jobs="EveryMinute", env=UNREACHABLE[project.vendor])
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"cannot reach database 'default' ({project.vendor} at " in line
    assert project.count("cronjobs_run") == 0


def test_an_unreachable_cache_is_one_line_that_names_it_and_nothing_succeeds(project):
    project.seed_job("test.every_minute", minutes_ago=1)
    env = {"CRONJOBS_TEST_LOCK": "cache", "CRONJOBS_TEST_REDIS_URL": "redis://127.0.0.1:1/0"}
    result = project.manage("runcrons", jobs="EveryMinute", env=env)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "cannot reach cache 'locks' (RedisCache at redis://127.0.0.1:1/0)" in line
    assert statuses(project, "test.every_minute") == ["failed"]
    assert project.count("testapp_effect") == 0


def test_a_worker_killed_mid_job_is_reported_and_recorded_as_crashed_and_the_others_finish(project):
    codes = ["test.quiet_1", "test.quiet_2"]
    for code in codes:
        project.seed_job(code, minutes_ago=1)
    env = {"CRONJOBS_TEST_SLEEP": "3"}
    process = project.start("runcrons", "--workers", "2", jobs="HangsWithoutWriting1,HangsWithoutWriting2", env=env)
    wait_running(project, process, *codes)
    [(pid,)] = project.query("SELECT pid FROM cronjobs_run WHERE job_code = 'test.quiet_1' AND status = 'running'")
    os.kill(pid, signal.SIGKILL)
    assert process.wait(timeout=60) == 1
    out = process.communicate()[0]
    assert "test.quiet_1: crashed" in out and "test.quiet_2: succeeded" in out
    assert statuses(project, "test.quiet_1") == ["crashed"]
    assert statuses(project, "test.quiet_2") == ["succeeded"]
