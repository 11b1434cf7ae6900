"""One-off tasks drained by real runcrons processes on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.projects import stop, wait_for
from tests.support.tasks import TABLE, effects, enqueue, task_rows

pytestmark = pytest.mark.processes


def test_four_workers_run_each_of_2000_tasks_exactly_once(project):
    enqueue(project, "for i in range(2000): record.enqueue(f'task-{i}')")
    # Two processes of two workers each (--workers forks the second).
    started = [project.start("runcrons", "--tasks-only", "--workers", "2") for _ in range(2)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in started]
    assert [r for r in results if r[0] != 0] == []
    assert all("database is locked" not in out + err for _, out, err in results)
    ran = effects(project, "task-%")
    assert len(ran) == 2000
    assert len(set(ran)) == 2000
    assert project.count(TABLE, "status = 'SUCCESSFUL'") == 2000
    assert project.count(TABLE, "attempts <> 1") == 0
    pids = {row[0] for row in project.query("SELECT DISTINCT pid FROM testapp_effect")}
    assert len(pids) >= 2, "the work was not shared between processes"


def test_rollback_run_after_and_priority(project):
    enqueue(
        project,
        "from datetime import timedelta\n"
        "from django.db import transaction\n"
        "from django.utils import timezone\n"
        "with transaction.atomic():\n"
        "    record.enqueue('rolled back')\n"
        "    transaction.set_rollback(True)\n"
        "record.using(run_after=timezone.now() + timedelta(hours=1)).enqueue('later')\n"
        "record.using(priority=-5).enqueue('low')\n"
        "record.enqueue('middle')\n"
        "record.using(priority=7).enqueue('high')\n"
        "record_mail.enqueue('mail')\n",
    )
    result = project.manage("runcrons", "--tasks-only", "--queue", "default")
    assert result.returncode == 0, result.stderr
    assert effects(project) == ["high", "middle", "low"]
    assert "tasks: 3 succeeded, 0 failed, 0 to retry" in result.stdout
    assert project.count(TABLE) == 5  # the rolled-back one was never written
    assert project.count(TABLE, "status = 'READY'") == 2  # 'later' and the mail queue's task
    result = project.manage("runcrons", "--tasks-only")
    assert effects(project) == ["high", "middle", "low", "mail"]


def test_a_task_of_a_killed_worker_is_recovered_after_its_lease_and_retried(project):
    enqueue(project, "hangs_on_first_attempt.enqueue('hang')")
    env = {"CRONJOBS_TEST_LEASE_GRACE": "1"}
    first = project.start("runcrons", "--tasks-only", env=env)
    wait_for(lambda: effects(project) == ["hang#1"])
    stop(first, signal.SIGKILL)
    first.wait(timeout=10)
    assert task_rows(project)[0]["status"] == "RUNNING"
    killed_at = time.monotonic()
    second = project.start("runcrons", "--tasks-only", "--loop", env=env)
    try:
        wait_for(lambda: task_rows(project)[0]["status"] == "SUCCESSFUL", timeout=30)
    finally:
        stop(second, signal.SIGTERM)
        second.wait(timeout=60)
    # Not before the lease ran out: 3 s of timeout plus 1 s of grace after the attempt started.
    assert time.monotonic() - killed_at > 2
    assert effects(project) == ["hang#1", "hang#2"]
    row = task_rows(project)[0]
    assert row["attempts"] == 2
    assert row["return_value"] == 2
    assert [e["exception_class_path"] for e in row["errors"]] == ["cronjobs.tasks.exceptions.WorkerLost"]
    (hung,) = project.query("SELECT pid FROM testapp_effect WHERE job = 'hang#1'")[0]
    assert f":{hung}:" in row["worker_ids"][0]  # the work horse of the runcrons that was killed


def test_a_batch_whose_worker_is_killed_runs_each_of_its_tasks_once_after_the_lease(project):
    # 39 fast tasks first: the batches grow 1, 2, 4, 8, 16, so the 40th task (it hangs) opens
    # a batch of 32 with the tasks after it, which wait behind it when its worker is killed.
    enqueue(
        project,
        "for i in range(39): record.enqueue(f'before-{i}')\n"
        "hangs_on_first_attempt.enqueue('hang')\n"
        "for i in range(40): record.enqueue(f'after-{i}')\n",
    )
    env = {"CRONJOBS_TEST_LEASE_GRACE": "1"}
    first = project.start("runcrons", "--tasks-only", env=env)
    wait_for(lambda: "hang#1" in effects(project))
    stop(first, signal.SIGKILL)
    first.wait(timeout=10)
    killed_at = time.monotonic()
    waiting = project.count(TABLE, "status = 'RUNNING'") - 1
    assert waiting >= 1, "the hanging task was not in a batch with others"
    second = project.start("runcrons", "--tasks-only", "--loop", env=env)
    try:
        wait_for(lambda: project.count(TABLE, "status = 'SUCCESSFUL'") == 80, timeout=60)
    finally:
        stop(second, signal.SIGTERM)
        second.wait(timeout=60)
    assert time.monotonic() - killed_at > 2  # not before the lease of the batch ran out
    ran = effects(project)
    records = [label for label in ran if not label.startswith("hang")]
    assert sorted(records) == sorted([f"before-{i}" for i in range(39)] + [f"after-{i}" for i in range(40)])
    assert [label for label in ran if label.startswith("hang")] == ["hang#1", "hang#2"]
    # The tasks that waited behind the hanging one got their attempt back: each ran once, on its first.
    assert project.count(TABLE, "attempts <> 1") == 1
    (hang,) = task_rows(project, "attempts = 2")
    assert [e["exception_class_path"] for e in hang["errors"]] == ["cronjobs.tasks.exceptions.WorkerLost"]


def test_an_always_failing_task_stops_after_max_attempts_with_its_tracebacks(project):
    enqueue(project, "always_fails.enqueue('doomed')")
    result = project.manage("runcrons", "--tasks-only")
    assert result.returncode == 0, result.stderr  # a task's failure is the task's, not runcrons'
    assert "tasks: 0 succeeded, 1 failed, 2 to retry" in result.stdout
    (row,) = task_rows(project)
    assert (row["status"], row["attempts"]) == ("FAILED", 3)
    assert len(row["errors"]) == 3
    assert all("RuntimeError: boom: doomed" in e["traceback"] for e in row["errors"])
    assert effects(project) == []  # each attempt's write was rolled back


def test_a_task_over_its_timeout_is_stopped_and_the_worker_goes_on(project):
    enqueue(project, "sleeps.enqueue('slow', 120)\nrecord.enqueue('after')")
    started = time.monotonic()
    result = project.manage("runcrons", "--tasks-only", timeout=300)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 100  # both attempts were cut short, neither slept its 120 s
    assert effects(project, "after") == ["after"]
    (row,) = task_rows(project, "task_path LIKE ?", ("%sleeps",))
    assert (row["status"], row["attempts"]) == ("FAILED", 2)
    assert [e["exception_class_path"] for e in row["errors"]] == ["cronjobs.tasks.exceptions.TaskTimeout"] * 2


def test_loop_runs_due_jobs_and_drains_tasks_and_sigterm_puts_the_running_task_back(project):
    project.seed_job("test.every_minute", minutes_ago=1)
    enqueue(project, "record.enqueue('queued')\nhangs_on_first_attempt.enqueue('hang')")
    looping = project.start("runcrons", "--loop", jobs="EveryMinute")
    try:
        wait_for(lambda: {"test.every_minute", "queued", "hang#1"} <= set(effects(project)))
    finally:
        stop(looping, signal.SIGTERM)
    assert looping.wait(timeout=20) == 128 + signal.SIGTERM
    assert "stopped: interrupted by signal 15" in looping.communicate()[1]
    (row,) = task_rows(project, "task_path LIKE ?", ("%hangs_on_first_attempt",))
    assert (row["status"], row["attempts"]) == ("READY", 0)  # as it was before the interrupted attempt


PLAN = """
from django.db import connection, transaction
from django.utils import timezone
from cronjobs.tasks.models import QueuedTask, _returning_claim, plan_claims_by_index
now = timezone.now()
QueuedTask.objects.bulk_create(
    QueuedTask(task_path="tests.testapp.tasks.noop", backend="default", queue_name="default", priority=i % 3,
               args=[i], run_after=now, enqueued_at=now, timeout=60) for i in range(20000)
)
sql, params = _returning_claim(connection, "worker", timezone.now(), ["default"], None)
with transaction.atomic(), connection.cursor() as cursor:
    plan_claims_by_index(connection)
    cursor.execute("EXPLAIN " + sql, params)
    print("\\n".join(row[0] for row in cursor.fetchall()))
    transaction.set_rollback(True)
"""


@pytest.mark.parametrize("project", ["postgresql"], indirect=True)  # SQLite's plan: test_tasks.py
def test_the_postgresql_claim_walks_its_index_in_order_before_any_analyze(project):
    result = project.manage("shell", "-c", PLAN)
    assert result.returncode == 0, result.stderr
    assert "Index Scan using cronjobs_task_claim" in result.stdout, result.stdout
    assert "Sort" not in result.stdout, result.stdout
    # The batch is locked once (a materialized CTE), then updated by key.
    assert "CTE picked" in result.stdout, result.stdout
    assert "Index Scan using cronjobs_tasks_queuedtask_pkey" in result.stdout, result.stdout
