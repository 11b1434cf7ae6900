"""Supervised execution: project code in a work horse that runcrons can always stop.

Real runcrons processes on real databases. A job stuck in one C call that keeps the GIL (no
Python signal handler, no other thread of its process runs) is still stopped at its timeout
and by SIGTERM, and its lease is renewed meanwhile; a work horse that dies makes its run
crashed at once; the next job runs in a new one.
"""

from __future__ import annotations

import os
import signal
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.projects import wait_for

pytestmark = pytest.mark.processes


def as_seconds(value) -> float:
    return float(value)


def marker_path(tmp_path) -> str:
    return str(tmp_path / "marker")


@pytest.mark.parametrize("project", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_a_job_stuck_in_c_is_stopped_at_its_timeout_and_the_other_jobs_run(project):
    result = project.manage("runcrons", "--force", jobs="StuckInC,EveryMinute", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    stuck = project.query("SELECT status, message, duration FROM cronjobs_run WHERE job_code = 'test.stuck_in_c'")
    assert [row[0] for row in stuck] == ["timed_out"], stuck
    assert "stopped after 0:00:03" in stuck[0][1]
    assert 3 <= as_seconds(stuck[0][2]) < 13, stuck  # recorded within timeout + 10 s (the supervisor's clock)
    assert project.query("SELECT status FROM cronjobs_run WHERE job_code = 'test.every_minute'") == [("succeeded",)]
    # Its transaction was rolled back on the server: the row it wrote is gone.
    assert project.count("testapp_effect", "job = 'test.stuck_in_c'") == 0
    assert "test.stuck_in_c: timed out" in result.stdout


@pytest.mark.parametrize("project", ["sqlite", "postgresql", "mysql"], indirect=True)
@pytest.mark.parametrize("grace", [None, "1"])
def test_sigterm_stops_a_job_stuck_in_c(project, tmp_path, grace):
    marker = marker_path(tmp_path)
    args = ["runcrons", "--force", *(["--stop-grace", grace] if grace else [])]
    process = project.start(*args, jobs="StuckInCNoTimeout", env={"CRONJOBS_TEST_MARKER": marker})
    wait_for(lambda: os.path.exists(marker), timeout=120)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)  # the grace is 1 s; nothing waits for the C call
    assert process.returncode == 128 + signal.SIGTERM, out + err
    rows = project.query("SELECT status, message FROM cronjobs_run WHERE job_code = 'test.stuck_in_c_no_timeout'")
    assert [row[0] for row in rows] == ["interrupted"], rows
    assert project.count("testapp_effect", "job = 'test.stuck_in_c_no_timeout'") == 0


@pytest.mark.parametrize("project", ["sqlite", "postgresql"], indirect=True)
def test_a_job_that_finishes_inside_the_stop_grace_commits_and_succeeds(project, tmp_path):
    marker = marker_path(tmp_path)
    env = {"CRONJOBS_TEST_MARKER": marker, "CRONJOBS_TEST_SLEEP": "3"}
    process = project.start("runcrons", "--force", "--stop-grace", "120", jobs="StuckInCNoTimeout", env=env)
    wait_for(lambda: os.path.exists(marker), timeout=120)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=150)
    assert process.returncode == 128 + signal.SIGTERM, out + err  # it was stopped, after its work
    rows = project.query("SELECT status, message FROM cronjobs_run WHERE job_code = 'test.stuck_in_c_no_timeout'")
    assert rows == [("succeeded", "came back")]
    assert project.count("testapp_effect", "job = 'test.stuck_in_c_no_timeout'") == 1


@pytest.mark.parametrize("project", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_a_work_horse_killed_mid_job_makes_the_run_crashed_at_once_and_the_retry_runs_in_a_new_one(project, tmp_path):
    marker = marker_path(tmp_path)
    process = project.start("runcrons", "--force", jobs="DiesOnFirstAttempt", env={"CRONJOBS_TEST_MARKER": marker})
    wait_for(lambda: os.path.exists(marker), timeout=120)
    first = int(Path(marker).read_text())
    assert first != process.pid  # the job runs in a child of runcrons
    os.kill(first, signal.SIGKILL)  # as the OOM killer would
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, out + err  # one run crashed (its retry succeeded)
    rows = project.query(
        "SELECT attempt, status, message FROM cronjobs_run WHERE job_code = 'test.dies_on_first_attempt' "
        "ORDER BY attempt"
    )
    assert [row[:2] for row in rows] == [(1, "crashed"), (2, "succeeded")], rows
    assert "its work horse was killed by SIGKILL while it ran the job" in rows[0][2]
    second = int(rows[1][2].rsplit(" ", 1)[1])
    assert second not in (first, process.pid)
    assert project.count("testapp_effect", "job = 'test.dies_on_first_attempt'") == 1  # attempt 1 rolled back


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_a_segfault_is_a_crash_with_its_signal_and_output_and_the_next_job_runs(project):
    result = project.manage("runcrons", "--force", jobs="Segfaults,EveryMinute", timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    rows = project.query("SELECT status, message, output FROM cronjobs_run WHERE job_code = 'test.segfaults'")
    assert [row[0] for row in rows] == ["crashed"], rows
    assert "SIGSEGV" in rows[0][1]
    assert "about to read address 0" in rows[0][2]
    assert project.query("SELECT status FROM cronjobs_run WHERE job_code = 'test.every_minute'") == [("succeeded",)]


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_a_job_over_its_address_space_limit_fails_and_the_next_job_runs(project):
    result = project.manage("runcrons", "--force", jobs="OverMemory,EveryMinute", timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    rows = project.query("SELECT status, message FROM cronjobs_run WHERE job_code = 'test.over_memory'")
    assert rows == [("failed", "MemoryError: ")], rows
    assert project.query("SELECT status FROM cronjobs_run WHERE job_code = 'test.every_minute'") == [("succeeded",)]


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_jobs_share_a_work_horse_capture_its_file_descriptors_and_a_memory_ceiling_replaces_it(project):
    result = project.manage("runcrons", "--force", jobs="ReportsItsProcess,ReportsItsProcess2", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = project.query("SELECT message, output FROM cronjobs_run ORDER BY id")
    pids = {row[0] for row in rows}
    assert len(pids) == 1, rows  # one work horse for both
    for _, output in rows:
        assert "written to fd 1" in output and "from a subprocess" in output and "printed" in output
    env = {"CRONJOBS_TEST_MAX_MEMORY": "1"}
    result = project.manage("runcrons", "--force", jobs="ReportsItsProcess,ReportsItsProcess2", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    later = {row[0] for row in project.query("SELECT message FROM cronjobs_run ORDER BY id")[2:]}
    assert len(later) == 2, later  # above 1 MiB after its first run: replaced


@pytest.mark.parametrize("project", ["postgresql"], indirect=True)
def test_a_job_holding_the_gil_in_c_keeps_its_lease_and_runs_once(project, tmp_path):
    marker = marker_path(tmp_path)
    process = project.start("runcrons", "--force", jobs="HoldsTheGIL", env={"CRONJOBS_TEST_MARKER": marker})
    wait_for(lambda: os.path.exists(marker), timeout=120)
    started = datetime.now(timezone.utc)
    leases = []
    # Other runners look while it runs, for 30 s, well past its 8 s lease had it not been renewed:
    # each judges the runs of dead processes before it runs its own job; none declares it crashed.
    while process.poll() is None:
        other = project.manage("runcrons", "--force", jobs="EveryMinute", timeout=120)
        assert other.returncode == 0, other.stdout + other.stderr
        leases += project.query(
            "SELECT lease_until FROM cronjobs_run WHERE job_code = 'test.holds_the_gil' AND status = 'running'"
        )
    out, err = process.communicate()
    assert process.returncode == 0, out + err
    rows = project.query("SELECT status FROM cronjobs_run WHERE job_code = 'test.holds_the_gil'")
    assert rows == [("succeeded",)]
    assert project.count("testapp_effect", "job = 'test.holds_the_gil'") == 1
    assert len({lease for (lease,) in leases}) >= 2, leases  # renewed while the job held the GIL
    assert max(lease for (lease,) in leases) > started


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_loop_stopped_by_sigterm_while_idle_exits_0(project, workers):
    process = project.start("runcrons", "--loop", "--workers", workers, jobs="Hourly")
    wait_for(lambda: project.count("cronjobs_job") == 1, timeout=120)  # registered: it waits in its loop
    process.send_signal(signal.SIGTERM)  # as Kubernetes and `docker stop` do: to runcrons only
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    assert "stopped by SIGTERM" in out


@pytest.mark.parametrize("project", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_runcrons_stopped_while_jobs_run_exits_128_plus_the_signal_and_leaves_nothing_running(
    project, tmp_path, workers
):
    marker = marker_path(tmp_path)
    process = project.start(
        "runcrons",
        "--force",
        "--workers",
        workers,
        jobs="StuckInCNoTimeout,StuckInCNoTimeout2",
        env={"CRONJOBS_TEST_MARKER": marker},
    )
    wait_for(lambda: os.path.exists(marker), timeout=120)
    os.killpg(process.pid, signal.SIGTERM)  # as systemd does: every process of the service
    out, err = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, out + err
    rows = project.query("SELECT status FROM cronjobs_run")
    assert rows and {status for (status,) in rows} == {"interrupted"}, rows
    assert project.count("testapp_effect") == 0


@pytest.mark.parametrize("project", ["sqlite", "postgresql", "mysql"], indirect=True)
def test_a_task_stuck_in_c_dies_with_its_work_horse_at_its_timeout_and_the_queue_goes_on(project):
    from tests.support.tasks import effects, enqueue, task_rows

    enqueue(project, "stuck_in_c.enqueue('stuck')\nrecord.enqueue('after')")
    result = project.manage("runcrons", "--tasks-only", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert effects(project) == ["after"]  # both attempts of the stuck task rolled back
    [row] = task_rows(project, "task_path LIKE ?", ("%stuck_in_c",))
    assert (row["status"], row["attempts"]) == ("FAILED", 2), row  # retried once, then failed for good
    assert [e["exception_class_path"] for e in row["errors"]] == ["cronjobs.tasks.exceptions.TaskTimeout"] * 2
    assert "tasks: 1 succeeded, 1 failed, 1 to retry" in result.stdout


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_the_hooks_of_a_run_stopped_at_its_timeout_run_in_the_next_work_horse(project):
    result = project.manage("runcrons", "--force", jobs="StuckInCWithHooks", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    effects = project.query("SELECT job, pid FROM testapp_effect ORDER BY id")
    assert [job for job, _ in effects] == ["on_failure:JobTimeout", "on_finish:timed_out"], effects
    assert len({pid for _, pid in effects}) == 1  # both in one work horse, not the killed one


@pytest.mark.parametrize("project", ["postgresql"], indirect=True)
def test_a_run_that_ends_before_its_job_starts_does_not_keep_runcrons_waiting(project):
    """should_run says no (skipped) or the job hands its work off: the work horse's first answer is
    the run's end, and runcrons goes on (drains the handed-off task, follows it) and exits."""
    project.seed_job("test.decides_itself", minutes_ago=1)
    project.seed_job("test.handed_off", minutes_ago=1)
    result = project.manage(
        "runcrons", jobs="tests.testapp.api_jobs.DecidesItself,HandedOff", env={"CRONJOBS_TEST_SHOULD_RUN": "no"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    statuses = project.query("SELECT job_code, status FROM cronjobs_run WHERE status != 'missed' ORDER BY job_code")
    assert statuses == [("test.decides_itself", "skipped"), ("test.handed_off", "succeeded")]
