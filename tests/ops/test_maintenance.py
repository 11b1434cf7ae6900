"""Maintenance mode (cronjobs pause --all / resume --all), through real runcrons processes."""

from __future__ import annotations

import json

import pytest

from tests.support.projects import clear_of_the_next_minute

PATH = "tests.testapp.api_jobs."
JOBS = "EveryMinute,FiveMinutes," + PATH + "KeepsGoing"


def _ran(project, code):
    return project.count("testapp_effect", "job LIKE ?", (f"{code}%",))


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite", "postgresql"], indirect=True)
def test_maintenance_pauses_all_but_the_marked_jobs_and_resume_starts_them_from_now(project):
    on = project.manage("cronjobs", "pause", "--all", jobs=JOBS)
    assert on.returncode == 0, on.stderr
    assert "Maintenance mode on" in on.stdout and "test.keeps_going" in on.stdout
    assert "was on already" in project.manage("cronjobs", "pause", "--all", jobs=JOBS).stdout
    for code in ("test.every_minute", "test.keeps_going"):
        project.query(
            "UPDATE cronjobs_job SET watermark = ?, next_slot = ? WHERE code = ?",
            (project._moment(3), project._moment(2), code),
        )

    result = project.manage("runcrons", jobs=JOBS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _ran(project, "test.keeps_going") == 1
    assert _ran(project, "test.every_minute") == 0
    assert project.count("cronjobs_run", "job_code = 'test.every_minute'") == 0

    listing = project.manage("cronjobs", "list", jobs=JOBS).stdout
    assert "Maintenance mode since" in listing
    assert "test.every_minute  HELD (maintenance mode)" in listing
    assert "test.keeps_going  HELD" not in listing
    data = json.loads(project.manage("cronjobs", "list", "--json", jobs=JOBS).stdout)
    assert data["maintenance"]["by"].endswith("(manage.py cronjobs)")
    held = {job["code"]: job["held_by_maintenance"] for job in data["jobs"]}
    assert held == {"test.every_minute": True, "test.five_minutes": True, "test.keeps_going": False}

    clear_of_the_next_minute(20)  # from resume to the next runcrons, no new slot falls due
    off = project.manage("cronjobs", "resume", "--all", jobs=JOBS)
    assert off.returncode == 0, off.stderr
    assert "Maintenance mode off" in off.stdout
    assert "is not on" in project.manage("cronjobs", "resume", "--all", jobs=JOBS).stdout
    # The slots held during maintenance are skipped: nothing is due until the next one.
    result = project.manage("runcrons", jobs=JOBS)
    assert _ran(project, "test.every_minute") == 0
    assert "Maintenance mode" not in project.manage("cronjobs", "list", jobs=JOBS).stdout
    actions = project.query("SELECT job_code, kind FROM cronjobs_action ORDER BY id")
    assert actions == [("*", "pause"), ("*", "resume")]


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_pause_needs_a_code_or_all_but_not_both(project):
    neither = project.manage("cronjobs", "pause", jobs=JOBS)
    assert neither.returncode == 2 and "give one or more jobs' CODEs, or --all" in neither.stderr
    both = project.manage("cronjobs", "resume", "test.every_minute", "--all", jobs=JOBS)
    assert both.returncode == 2 and "not both" in both.stderr
    single = project.manage("cronjobs", "pause", "test.every_minute", jobs=JOBS)
    assert single.returncode == 0 and "paused" in single.stdout
    several = project.manage("cronjobs", "resume", "test.every_minute", "test.five_minutes", jobs=JOBS)
    assert several.returncode == 0, several.stderr
    assert "test.every_minute: resumed" in several.stdout and "test.five_minutes: not paused" in several.stdout


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_a_requested_run_goes_through_maintenance(project):
    project.manage("cronjobs", "pause", "--all", jobs=JOBS)
    project.manage("cronjobs", "run", "test.every_minute", jobs=JOBS)
    result = project.manage("runcrons", jobs=JOBS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _ran(project, "test.every_minute") == 1
