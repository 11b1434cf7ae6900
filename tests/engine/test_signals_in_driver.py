"""SIGTERM while the database driver reads a reply: the runner still records and gives back.

PyMySQL reads the server's replies in Python code, so a signal handler can raise there with a
reply unread: that connection is out of step with its server (and here, the server has already
begun the transaction). Whatever the runner writes after the stop goes through a new connection.
"""

from __future__ import annotations

import signal

import pytest

from tests.support.tasks import TABLE, effects, enqueue, task_rows

pytestmark = [pytest.mark.processes, pytest.mark.parametrize("project", ["mysql"], indirect=True)]


def test_a_job_stopped_while_its_transaction_opens_is_recorded_interrupted_and_runcrons_exits_143(project):
    result = project.manage("runcrons", "--force", jobs="SignalledWhileBeginning")
    assert result.returncode == 128 + signal.SIGTERM, result.stdout + result.stderr
    assert "stopped: interrupted by signal 15" in result.stderr, result.stderr
    assert project.query("SELECT status, message FROM cronjobs_run") == [("interrupted", "interrupted by signal 15")]
    assert project.count("testapp_effect") == 0

    again = project.manage("runcrons", "--force", jobs="EveryMinute")
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_task_stopped_while_its_transaction_opens_goes_back_to_the_queue(project):
    enqueue(project, "record_then_sigterm_in_next_begin.enqueue('first')\nrecord.enqueue('second')")
    stopped = project.manage("runcrons", "--tasks-only")
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stdout + stopped.stderr
    assert effects(project) == ["first"]
    rows = task_rows(project, "task_path LIKE ?", ("%.record",))
    assert [(row["status"], row["attempts"]) for row in rows] == [("READY", 0)]  # given back, no attempt spent

    rest = project.manage("runcrons", "--tasks-only")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert effects(project) == ["first", "second"]
    assert project.count(TABLE, "status = 'SUCCESSFUL'") == 2
