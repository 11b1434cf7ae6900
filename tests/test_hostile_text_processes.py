"""Hostile text through real ``runcrons`` processes, on SQLite, PostgreSQL and MariaDB.

The cases as they were reported: a job that logs a file name that is not UTF-8 (as
``os.listdir`` gives it) or fails with a NUL in its message stopped ``runcrons`` on PostgreSQL
and MariaDB, its run left ``running`` and the jobs after it not run; a task that failed with a
NUL or a lone surrogate, or returned a NUL, stopped the drain with the task left RUNNING; such
arguments were refused by the database, not by the Tasks API; and escape sequences from a job
reached the operator's terminal. ``test_hostile_text`` draws many more strings in-process.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess

import pytest

from tests.support.projects import ROOT, Project

pytestmark = pytest.mark.processes

HOSTILE = "tests.testapp.hostile."
JOBS = ",".join([HOSTILE + "LogsUndecodableName", HOSTILE + "FailsWithNul", HOSTILE + "PrintsEscapes", "EveryMinute"])


def runs(project: Project) -> dict[str, tuple]:
    rows = project.query("SELECT job_code, status, message, traceback, output FROM cronjobs_run")
    return {row[0]: row[1:] for row in rows}


def test_a_job_that_logs_undecodable_names_or_fails_with_a_nul_is_recorded_and_the_next_job_runs(project):
    ran = project.manage("runcrons", "--force", jobs=JOBS)
    # One job failed (its NUL is kept, escaped): exit 1, with the summary and nothing else.
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert ran.stderr == "CommandError: 1 of 4 run(s) did not succeed: test.fails_with_nul\n", ran.stderr
    recorded = runs(project)
    assert {code: row[0] for code, row in recorded.items()} == {
        "test.logs_undecodable_name": "succeeded",
        "test.fails_with_nul": "failed",
        "test.prints_escapes": "succeeded",
        "test.every_minute": "succeeded",
    }
    _, message, _, output = recorded["test.logs_undecodable_name"]
    assert message == "imported caf\\udce9.csv"
    assert output == ("WARNING testapp: importing caf\\udce9.csv\nread caf\\udce9.csv\non stderr caf\\udce9.csv\n"), (
        output
    )
    _, message, trace, output = recorded["test.fails_with_nul"]
    assert message == "FileNotFoundError: a\\x00b"
    assert trace.endswith("FileNotFoundError: a\\x00b\n"), trace
    assert output == "about to fail: a\\x00b\nERROR testapp: failing with a\\x00b\n", output
    # The escape sequences are stored as they were, and written escaped (stdout is a pipe here).
    assert recorded["test.prints_escapes"][1] == "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m"
    assert "\x1b" not in ran.stdout and "\x00" not in ran.stdout
    assert "test.prints_escapes: succeeded in " in ran.stdout
    assert ": \\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\x1b[0m" in ran.stdout, ran.stdout
    assert "imported caf\\udce9.csv" in ran.stdout and "FileNotFoundError: a\\x00b" in ran.stdout


def test_a_task_that_fails_with_or_returns_a_nul_or_a_lone_surrogate_is_recorded_and_the_queue_goes_on(project):
    enqueue = (
        "from tests.testapp import hostile, tasks\n"
        "hostile.raises_hostile.enqueue('unused')\n"
        "hostile.returns_hostile.enqueue('unused')\n"
        "tasks.record.enqueue('after the poison')\n"
    )
    enqueued = project.manage("shell", "-c", enqueue)
    assert enqueued.returncode == 0, enqueued.stderr
    poison = json.dumps("x\x00y\udce9")  # what the two tasks raise and return
    drained = project.manage("runcrons", "--tasks-only", env={"CRONJOBS_TEST_HOSTILE": poison})
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert "tasks: 2 succeeded, 1 failed, 0 to retry" in drained.stdout
    rows = project.query("SELECT task_path, status, return_value, errors FROM cronjobs_tasks_queuedtask")

    def read(value: object) -> object:  # jsonb comes decoded by psycopg; a failed task's value is NULL
        return json.loads(value) if isinstance(value, str) and project.vendor != "postgresql" else value

    found = {path.rsplit(".", 1)[1]: (status, read(value), read(errors)) for path, status, value, errors in rows}
    assert {name: row[0] for name, row in found.items()} == {
        "raises_hostile": "FAILED",
        "returns_hostile": "SUCCESSFUL",
        "record": "SUCCESSFUL",
    }
    assert found["returns_hostile"][1] == "x\\x00y\\udce9"
    (error,) = found["raises_hostile"][2]
    assert error["exception_class_path"] == "builtins.ValueError"
    assert error["traceback"].endswith("ValueError: x\\x00y\\udce9\n"), error["traceback"]
    assert project.query("SELECT job FROM testapp_effect") == [("after the poison",)]


ENQUEUE_HOSTILE = """
from cronjobs.tasks_api import InvalidTaskError
from tests.testapp import hostile
for args, kwargs in [(("caf\\udce9.csv",), {}), (("a\\x00b",), {}), ((), {"value": {"names": ["ok", "x\\x00"]}})]:
    try:
        hostile.takes.enqueue(*args, **kwargs)
    except InvalidTaskError as exc:
        print("refused:", ascii(str(exc)))
hostile.takes.enqueue("plain")
print("enqueued plain")
"""


def test_arguments_a_database_cannot_store_are_refused_at_enqueue_with_invalid_task_naming_them(project):
    result = project.manage("shell", "-c", ENQUEUE_HOSTILE)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(("refused:", "enqueued"))]
    assert lines[-1] == "enqueued plain"
    assert [line.split(" cannot be stored: ")[0] for line in lines[:-1]] == [
        "refused: 'tests.testapp.hostile.takes: positional argument 0",
        "refused: 'tests.testapp.hostile.takes: positional argument 0",
        "refused: \"tests.testapp.hostile.takes: argument 'value'",
    ]
    assert "it holds a lone surrogate (\\\\udce9) at index 3," in lines[0]
    assert "it holds a NUL character at index 1," in lines[1]
    assert "it holds a NUL character at index 1 of item 1 of key 'names'," in lines[2]
    assert project.query("SELECT args FROM cronjobs_tasks_queuedtask") in ([('["plain"]',)], [(["plain"],)])  # jsonb


def on_a_terminal(project: Project, *args: str, jobs: str) -> str:
    """What ``manage.py ARGS`` writes to a terminal (a pseudo-terminal: stdout and stderr)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        project.command(*args), env=project._env(jobs, None), cwd=ROOT, stdout=follower, stderr=follower
    )
    os.close(follower)
    written = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            process.kill()
            raise AssertionError(f"no output for 120 s from {args}: {written!r}")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: every process holding it has exited
            break
        if not chunk:
            break
        written += chunk
    process.wait(timeout=60)
    os.close(leader)
    return written.decode()


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_escape_sequences_from_a_job_are_written_escaped_to_a_terminal(project):
    jobs = HOSTILE + "PrintsEscapes"
    ran = on_a_terminal(project, "runcrons", "--force", jobs=jobs)
    listed = on_a_terminal(project, "cronjobs", "list", jobs=jobs)
    history = on_a_terminal(project, "cronjobs", "history", jobs=jobs)
    (run_id,) = project.query("SELECT id FROM cronjobs_run")[0]
    whole = on_a_terminal(project, "cronjobs", "history", "--run", str(run_id), jobs=jobs)
    shown = "\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mred\\x1b[0m"
    for written in (ran, listed, history, whole):
        assert shown in written, written
        assert "\x1b]" not in written and "\x07" not in written and "\x1b[2J" not in written, written
    assert f"output:\r\n{shown}\r\n" in whole  # the job's output, as it printed it (escaped)
