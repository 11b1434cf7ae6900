"""A task worker frozen inside a task's transaction stalls no other worker, on PostgreSQL and MariaDB.

The worker stops itself (SIGSTOP) right after the attempt's outcome is written in the task's
transaction, before the COMMIT. Other workers skip its row when they recover lost tasks, and run
the rest of the queue; once its session is gone, the attempt is recovered (``WorkerLost``) and
retried, and the frozen attempt's work is rolled back.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.engine.test_frozen_holders import OPEN_TRANSACTIONS, end_frozen_sessions, stopped
from tests.support.projects import stop, wait_for
from tests.support.tasks import TABLE, effects, enqueue, task_rows

pytestmark = pytest.mark.processes

ENV = {"CRONJOBS_TEST_LEASE_GRACE": "1"}


@pytest.mark.parametrize("project", ["postgresql", "mysql"], indirect=True)
def test_a_worker_frozen_before_its_commit_stalls_no_other_task_and_its_attempt_is_retried_once_its_session_ends(
    project,
):
    enqueue(project, "freezes_before_commit.enqueue('frozen')")
    frozen = project.start("runcrons", "--tasks-only", env=ENV)
    try:
        wait_for(lambda: stopped(frozen.pid) or frozen.poll() is not None, timeout=120)
        assert frozen.poll() is None, frozen.communicate()
        assert project.query(OPEN_TRANSACTIONS[project.vendor]) != []
        time.sleep(1 + 1 + 1)  # past its timeout (1 s) and lease grace (1 s)

        enqueue(project, "record.enqueue('other')")
        other = project.manage("runcrons", "--tasks-only", env=ENV, timeout=120)
        assert other.returncode == 0, other.stdout + other.stderr
        assert effects(project) == ["other"]  # the frozen attempt's row is not committed
        assert sorted(status for (status,) in project.query(f"SELECT status FROM {TABLE}")) == ["RUNNING", "SUCCESSFUL"]

        end_frozen_sessions(project)
        wait_for(lambda: project.query(OPEN_TRANSACTIONS[project.vendor]) == [], timeout=60)
        later = project.manage("runcrons", "--tasks-only", env=ENV, timeout=120)
        assert later.returncode == 0, later.stdout + later.stderr
        assert sorted(effects(project)) == ["frozen#2", "other"]  # the first attempt's work rolled back
        [row] = task_rows(project, "task_path LIKE ?", ("%freezes_before_commit",))
        assert (row["status"], row["attempts"], row["return_value"]) == ("SUCCESSFUL", 2, 2)
        assert [e["exception_class_path"] for e in row["errors"]] == ["cronjobs.tasks.exceptions.WorkerLost"]
    finally:
        stop(frozen, signal.SIGCONT)
    frozen.communicate(timeout=60)
