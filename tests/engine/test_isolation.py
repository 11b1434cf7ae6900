"""One job's end never stops the others: sys.exit() and failing commands, with real runcrons processes."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.processes

JOBS = "ExitsZero,ExitsThree,CommandExits,CommandFails,EveryMinute"
CODES = ["test.exits_zero", "test.exits_three", "test.command_exits", "test.command_fails", "test.every_minute"]


def test_sys_exit_and_failing_commands_fail_their_run_and_the_others_run(project):
    for code in CODES:
        project.seed_job(code, minutes_ago=1)
    result = project.manage("runcrons", jobs=JOBS)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "4 of 5 run(s) did not succeed" in result.stderr
    recorded = {}
    for code in CODES:
        [(_, _, status, message, _)] = [r for r in project.runs(code) if r[2] != "missed"]
        recorded[code] = (status, message)
        assert code in result.stdout
    assert recorded == {
        "test.exits_zero": ("failed", "the job called sys.exit(0)"),
        "test.exits_three": ("failed", "the job called sys.exit(3)"),
        "test.command_exits": ("failed", "the job called sys.exit(4)"),
        "test.command_fails": ("failed", "CommandError: the command failed on purpose"),
        "test.every_minute": ("succeeded", "wrote one row"),
    }
    # The jobs that exited rolled their writes back; the one after them ran and committed.
    assert project.count("testapp_effect", "job IN ('test.exits_zero', 'test.exits_three')") == 0
    assert project.count("testapp_effect", "job = 'test.every_minute'") == 1
