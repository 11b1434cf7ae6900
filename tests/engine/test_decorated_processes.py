"""``@cron(...)`` on a function and on a task: each slot once, with real runcrons processes
started together on PostgreSQL (the in-process tests are tests/test_cron_decorator.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.processes

FUNCTION = "tests.testapp.scheduled.writes_a_row"
TASK = "tests.testapp.scheduled.enqueued"


@pytest.mark.parametrize("project", ["postgresql"], indirect=True)
def test_a_decorated_function_and_a_decorated_task_each_run_once_per_slot_under_ten_runners(project):
    project.seed_job("test.function", minutes_ago=3)
    project.seed_job("test.task", minutes_ago=3)
    started = [project.start("runcrons", jobs=f"{FUNCTION},{TASK}") for _ in range(10)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in started]
    assert [r for r in results if r[0] != 0] == []

    # The function: one row written per run, one run per slot (the newest; the older ones missed).
    runs = project.query(
        "SELECT slot, status FROM cronjobs_run WHERE job_code = 'test.function' AND status != 'missed'"
    )
    assert runs and all(status == "succeeded" for _, status in runs), runs
    assert len({slot for slot, _ in runs}) == len(runs)
    assert project.count("testapp_effect", "job = 'test.function'") == len(runs)

    # The task: enqueued once per run, each run settled from its task's result by the runner that
    # drained it, and the task's work done once per enqueue.
    runs = project.query(
        "SELECT slot, status, message, task_id FROM cronjobs_run WHERE job_code = 'test.task' AND status != 'missed'"
    )
    assert runs and all(run[1:3] == ("succeeded", "ran as a task") for run in runs), runs
    assert len({run[0] for run in runs}) == len(runs)
    tasks = project.query("SELECT id, status FROM cronjobs_tasks_queuedtask WHERE task_path = ?", (TASK,))
    assert sorted(str(task_id) for task_id, _ in tasks) == sorted(run[3] for run in runs)
    assert all(status == "SUCCESSFUL" for _, status in tasks), tasks
    assert project.count("testapp_effect", "job = 'test.task'") == len(tasks)
    assert project.count("cronjobs_run", "job_code IN ('test.function', 'test.task') AND status = 'missed'") >= 4
