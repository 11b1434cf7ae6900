"""Conditions (cronjobs.engine.conditions): slots that do not meet them are recorded as skipped."""

from __future__ import annotations

from datetime import datetime, time, timezone

import pytest

from cronjobs import BaseCronJob
from cronjobs.engine import conditions

PATH = "tests.testapp.api_jobs."


def _ran(project, code):
    return project.count("testapp_effect", "job LIKE ?", (f"{code}|run|%",))


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite", "mysql"], indirect=True)
def test_conditions_record_skipped_slots_with_the_reason_through_runcrons(project):
    codes = ["test.only_in_production", "test.outside_window", "test.unless_between", "test.decides_itself"]
    for code in codes:
        project.seed_job(code, minutes_ago=1)
    jobs = ",".join(
        PATH + name for name in ("OnlyInProduction", "OutsideWindow", "InsideUnlessWindow", "DecidesItself")
    )
    result = project.manage("runcrons", jobs=jobs)
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = {code: [(r[2], r[3]) for r in project.runs(code) if r[2] != "missed"] for code in codes}
    assert recorded["test.only_in_production"] == [
        ("skipped", "environment None is not one of the job's environments (production)")
    ]
    [(status, message)] = recorded["test.outside_window"]
    assert status == "skipped" and "America/New_York is outside between = (" in message
    [(status, message)] = recorded["test.unless_between"]
    assert status == "skipped" and "Europe/Berlin is inside unless_between = (" in message
    assert recorded["test.decides_itself"] == [("skipped", "should_run(slot) returned False")]
    assert project.count("testapp_effect") == 0


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_met_conditions_run_the_slot_and_a_raising_should_run_fails_it(project):
    project.seed_job("test.only_in_production", minutes_ago=1)
    project.seed_job("test.decides_itself", minutes_ago=1)
    jobs = PATH + "OnlyInProduction," + PATH + "DecidesItself"
    result = project.manage(
        "runcrons", jobs=jobs, env={"CRONJOBS_TEST_ENVIRONMENT": "production", "CRONJOBS_TEST_SHOULD_RUN": "yes"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert _ran(project, "test.only_in_production") == 1
    assert _ran(project, "test.decides_itself") == 1

    project.server.empty()
    project.seed_job("test.decides_itself", minutes_ago=1)
    result = project.manage("runcrons", jobs=PATH + "DecidesItself", env={"CRONJOBS_TEST_SHOULD_RUN": "raise"})
    assert result.returncode == 1
    [(_, _, status, message, trace)] = project.ran("test.decides_itself")
    assert (status, message) == ("failed", "should_run raised LookupError: no verdict")
    assert "LookupError" in trace


@pytest.mark.processes
@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_a_forced_run_ignores_the_conditions(project):
    result = project.manage("runcrons", "--force", jobs=PATH + "DecidesItself")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _ran(project, "test.decides_itself") == 1


class Windowed(BaseCronJob):
    abstract = True
    schedule = "* * * * *"
    timezone = "Europe/Berlin"


def _slot(hour, minute=0):
    # Berlin is UTC+1 in January.
    return datetime(2026, 1, 15, hour - 1, minute, tzinfo=timezone.utc)


def test_between_is_read_in_the_jobs_zone_at_the_slot_and_end_is_excluded():
    class Job(Windowed):
        between = ("08:00", "18:00")

    assert conditions.static_reason(Job, _slot(8), None) is None
    assert conditions.static_reason(Job, _slot(17, 59), None) is None
    assert conditions.static_reason(Job, _slot(18), None) == (
        "18:00 Europe/Berlin is outside between = ('08:00', '18:00')"
    )
    assert conditions.static_reason(Job, _slot(7, 59), None) is not None


def test_a_window_whose_end_comes_first_spans_midnight():
    class Job(Windowed):
        unless_between = ("22:00", "02:00")

    assert conditions.static_reason(Job, _slot(23), None) is not None
    assert conditions.static_reason(Job, _slot(1, 59), None) is not None
    assert conditions.static_reason(Job, _slot(2), None) is None
    assert conditions.static_reason(Job, _slot(12), None) is None


def test_environments_match_the_setting():
    class Job(Windowed):
        environments = ("production", "staging")

    assert conditions.static_reason(Job, _slot(12), "staging") is None
    assert conditions.static_reason(Job, _slot(12), "dev") == (
        "environment 'dev' is not one of the job's environments (production, staging)"
    )


def test_windows_are_parsed_strictly():
    assert conditions.parse_window(("08:00", "18:30")) == (time(8), time(18, 30))
    for bad in (("8", "18:00"), ("08:00",), "08:00-18:00", ("08:00", "08:00"), (8, 18)):
        with pytest.raises(ValueError):
            conditions.parse_window(bad)
