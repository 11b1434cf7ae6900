"""The file lock with real processes: it excludes, and a killed holder does not block anyone."""

from __future__ import annotations

import os
import signal
import stat
from datetime import timedelta

import pytest

from cronjobs.locks.file import FileLock
from tests.support.projects import stop, wait_for

pytestmark = pytest.mark.processes


def running(project, code):
    return lambda: project.count("cronjobs_run", "job_code = ? AND status = 'running'", (code,)) == 1


def test_a_second_process_is_skipped_while_the_first_holds_the_lock_and_a_killed_holder_blocks_nothing(project):
    code = "test.sleeps_then_writes"
    first = project.start("runcrons", "--force", jobs="SleepsThenWrites", env={"CRONJOBS_TEST_SLEEP": "60"})
    wait_for(running(project, code))
    second = project.manage("runcrons", "--force", "-v", "2", jobs="SleepsThenWrites")
    assert second.returncode == 0, second.stderr
    assert f"{code}: skipped" in second.stdout and "lock held by" in second.stdout
    stop(first, signal.SIGKILL)
    first.wait(timeout=10)
    third = project.manage("runcrons", "--force", jobs="SleepsThenWrites", env={"CRONJOBS_TEST_SLEEP": "0"})
    # The lock is free at once; the killed run is reported as crashed, hence exit 1.
    assert third.returncode == 1, third.stderr
    assert f"{code}: crashed" in third.stdout and f"{code}: succeeded" in third.stdout
    assert project.count("testapp_effect", "job = ?", (code,)) == 1  # only the third run's
    statuses = sorted(row[0] for row in project.query("SELECT status FROM cronjobs_run"))
    assert statuses == ["crashed", "skipped", "succeeded"]


def test_sigterm_rolls_back_the_running_job_records_it_interrupted_and_exits_non_zero(project, tmp_path):
    marker = tmp_path / "started"
    env = {"CRONJOBS_TEST_SLEEP": "60", "CRONJOBS_TEST_MARKER": str(marker)}
    process = project.start("runcrons", "--force", jobs="EveryMinuteSlow", env=env)
    wait_for(marker.exists)  # the job runs (its run record says "running" from its claim on)
    stop(process, signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "stopped: interrupted by signal 15" in err
    assert project.query("SELECT status, message FROM cronjobs_run") == [("interrupted", "interrupted by signal 15")]
    assert project.count("testapp_effect") == 0


def test_a_failing_job_makes_runcrons_exit_1_and_the_others_still_run(project):
    result = project.manage("runcrons", "--force", jobs="WritesThenFails,EveryMinute")
    assert result.returncode == 1
    assert "test.fails: failed" in result.stdout and "test.every_minute: succeeded" in result.stdout
    assert "1 of 2 run(s) did not succeed: test.fails" in result.stderr
    assert project.count("testapp_effect", "job = 'test.fails'") == 0
    assert project.count("testapp_effect", "job = 'test.every_minute'") == 1
    (traceback,) = project.query("SELECT traceback FROM cronjobs_run WHERE job_code = 'test.fails'")[0]
    assert "RuntimeError: boom after two writes" in traceback


@pytest.mark.django_db
def test_the_lock_directory_and_files_are_private(tmp_path, settings):
    settings.CRONJOBS = {"AUTODISCOVER": False}
    lock = FileLock("app.job", ttl=timedelta(minutes=1), owner="me")
    assert lock.acquire()
    try:
        assert stat.S_IMODE(os.stat(lock.path.parent).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(lock.path).st_mode) == 0o600
        other = FileLock("app.job", ttl=timedelta(minutes=1), owner="other")
        assert not other.acquire()
        assert other.holder() == "me"
    finally:
        lock.release()
    assert FileLock("app.job", ttl=timedelta(minutes=1), owner="other").holder() is None


@pytest.mark.django_db
def test_a_symlinked_lock_file_is_refused(tmp_path, settings):
    settings.CRONJOBS = {"AUTODISCOVER": False, "LOCK_DIR": str(tmp_path / "locks")}
    lock = FileLock("app.job", ttl=timedelta(minutes=1), owner="me")
    (tmp_path / "locks").mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    target.write_text("")
    lock.path.symlink_to(target)
    from cronjobs.exceptions import LockError

    with pytest.raises(LockError, match="cannot open lock file"):
        lock.acquire()


def test_sigterm_records_the_running_slot_interrupted_and_the_claimed_ones_not_started(project, tmp_path):
    code = "test.catches_up_slowly"
    project.seed_job(code, minutes_ago=3)  # three slots due, claimed together
    marker = tmp_path / "started"
    env = {"CRONJOBS_TEST_SLEEP": "60", "CRONJOBS_TEST_MARKER": str(marker)}
    process = project.start("runcrons", jobs="CatchesUpSlowly", env=env)
    wait_for(marker.exists)
    stop(process, signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 128 + signal.SIGTERM, err
    messages = [message for _, _, status, message, _ in project.runs(code) if status == "interrupted"]
    assert messages == ["interrupted by signal 15"] + ["not started: runcrons was stopped"] * 2
    assert project.count("testapp_effect") == 0
