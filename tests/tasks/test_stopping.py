"""Task drains stopped by SIGTERM at random moments: each task is committed once or back in the queue.

Real runcrons processes on each database, stopped again and again wherever they are: starting,
claiming, inside a task, writing an outcome, committing. Afterwards every task ran exactly once,
none is recorded FAILED, none is left RUNNING, and none lost an attempt to the stops.
"""

from __future__ import annotations

import random
import signal
import time

import pytest

from tests.support.projects import server_queries, stop, wait_for
from tests.support.tasks import TABLE, effects, enqueue

pytestmark = pytest.mark.processes

TASKS = 600
STOPS = 10


@pytest.mark.parametrize("project", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_drains_stopped_by_sigterm_at_random_moments_commit_each_task_once_and_lose_none(project):
    rng = random.Random(9)
    stops = enqueued = 0
    # However fast this machine drains, STOPS stops land: an emptied queue gets a new batch.
    while stops < 60:
        if not project.count(TABLE, "status <> 'SUCCESSFUL'"):
            if stops >= STOPS:
                break
            enqueue(
                project,
                f"for i in range({enqueued}, {enqueued + TASKS}):\n"
                f"    record.enqueue(f'task-{{i}}') if i % 3 else record_after.enqueue(f'task-{{i}}', 0.005)",
            )
            enqueued += TASKS
        workers = ("--workers", "2") if stops % 3 == 2 else ()
        process = project.start("runcrons", "--tasks-only", "--loop", *workers)
        time.sleep(rng.uniform(0.3, 1.6))  # start-up takes about half a second: some stops land there
        stop(process, signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        # Stopped during start-up, before runcrons handles signals: killed, nothing begun.
        assert process.returncode in (0, 128 + signal.SIGTERM, -signal.SIGTERM), out + err
        assert "Traceback" not in err, err
        stops += 1
    rest = project.manage("runcrons", "--tasks-only")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert stops >= STOPS
    ran = effects(project, "task-%")
    missing = project.query(f"SELECT status, attempts, worker_ids FROM {TABLE} WHERE status <> 'SUCCESSFUL'")
    assert len(set(ran)) == enqueued, missing  # none lost
    assert len(ran) == enqueued  # none committed twice
    assert project.count(TABLE, "status = 'SUCCESSFUL'") == enqueued  # none recorded FAILED, none left RUNNING
    assert project.count(TABLE, "attempts <> 1") == 0  # an interrupted attempt was given back, not spent


def test_a_task_in_a_slow_query_is_stopped_at_its_timeout_on_the_server_too(project):
    enqueue(project, "slow_query.enqueue('slow')\nrecord.enqueue('after')")
    started = time.monotonic()
    result = project.manage("runcrons", "--tasks-only")
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 45  # not the query's minute
    assert effects(project) == ["after"]  # the slow task's row rolled back; the next task ran
    [(status, errors)] = project.query(f"SELECT status, errors FROM {TABLE} WHERE task_path LIKE ?", ("%slow_query",))
    assert status == "FAILED" and "TaskTimeout" in str(errors)
    sql = {"postgresql": "SELECT pg_sleep(60)", "mysql": "SELECT SLEEP(60)"}.get(project.vendor, "")
    wait_for(lambda: server_queries(project, sql) == 0, timeout=30)  # cancelled, not left running
