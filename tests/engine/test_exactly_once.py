"""Exactly once per slot, with real runcrons processes started together on a real database."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.processes


def test_concurrent_runcrons_run_each_due_slot_once(project):
    processes = 20
    project.seed_job("test.every_minute", minutes_ago=3)
    project.seed_job("test.five_minutes", minutes_ago=12)
    env = {"CRONJOBS_TEST_SQLITE_IMMEDIATE": "1"}  # the SQLite settings the docs recommend (howto/sqlite.md)
    started = [project.start("runcrons", jobs="EveryMinute,FiveMinutes", env=env) for _ in range(processes)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in started]
    assert [r for r in results if r[0] != 0] == []
    assert all("database is locked" not in out + err for _, out, err in results)
    for code in ("test.every_minute", "test.five_minutes"):
        effects = project.query("SELECT slot, COUNT(*) FROM testapp_effect WHERE job = ? GROUP BY slot", (code,))
        assert effects, f"{code} did not run"
        assert all(count == 1 for _, count in effects), effects
        succeeded = project.count("cronjobs_run", "job_code = ? AND status = 'succeeded'", (code,))
        assert succeeded == len(effects)
    missed = project.count("cronjobs_run", "job_code = 'test.every_minute' AND status = 'missed'")
    assert missed >= 2  # the two older slots of the three, recorded once each


def test_a_second_invocation_in_the_same_minute_runs_nothing(project):
    project.seed_job("test.every_minute", minutes_ago=1)
    first = project.manage("runcrons", jobs="EveryMinute")
    second = project.manage("runcrons", jobs="EveryMinute")
    assert first.returncode == 0, first.stderr
    assert "test.every_minute: succeeded" in first.stdout
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
