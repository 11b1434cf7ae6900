"""What runcrons writes where cron runs it: an empty environment, stdout not a terminal."""

from __future__ import annotations

import re
import signal
import subprocess
import time

import pytest

from tests.support.projects import ROOT, stop

pytestmark = pytest.mark.processes
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ "


def under_cron(project, *args: str, jobs: str) -> list[str]:
    """Run ``manage.py ARGS`` under ``env -i`` with what a crontab line sets, stdout and stderr
    into one pipe (as cron mails them), and return its lines."""
    env = project._env(jobs, None)
    keep = [f"{k}={v}" for k, v in env.items() if k.startswith(("CRONJOBS_TEST_", "DJANGO_", "PYTHONPATH"))]
    command = ["env", "-i", "PATH=/usr/bin:/bin", *keep, *project.command(*args)]
    result = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    return result.stdout.splitlines()


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_runcrons_under_cron_writes_each_job_line_with_a_time_and_before_the_summary(project):
    lines = under_cron(project, "runcrons", "--force", jobs="EveryMinute,Flaky,Hourly")
    jobs = [i for i, line in enumerate(lines) if re.match(STAMP + r"test\.\w+: (succeeded|failed) in ", line)]
    summary = [i for i, line in enumerate(lines) if line.startswith("CommandError: 1 of 3 run(s) did not succeed")]
    assert len(jobs) == 3, lines
    assert summary and max(jobs) < summary[0], lines


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_an_idle_loop_stopped_by_sigterm_exits_0_without_an_error(project):
    process = project.start("runcrons", "--loop", jobs="Hourly")
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "CommandError" not in err and "stopped" not in err
    assert re.fullmatch(STAMP + "stopped by SIGTERM\n", out.splitlines(keepends=True)[-1]), out
    stop(process)
