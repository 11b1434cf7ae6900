"""Crash recovery, the heartbeat and the timeout watchdog, in one process."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cronjobs import BaseCronJob
from cronjobs.engine import recovery
from cronjobs.engine.execution import hostname
from cronjobs.engine.heartbeat import Heartbeat
from cronjobs.engine.timeouts import Deadline
from cronjobs.exceptions import JobTimeout
from cronjobs.locks.database import DatabaseLock
from cronjobs.models import Job, Run


class Retried(BaseCronJob):
    schedule = "* * * * *"
    code = "test.retried"
    retries = 1
    retry_delay = timedelta(0)


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def running(*, host: str | None = None, pid: int | None = None, lease: float = 60, code: str = "test.retried") -> Run:
    now = timezone.now()
    Job.objects.get_or_create(
        code=code, defaults={"first_seen": now, "watermark": now, "schedule_key": "", "next_slot": now}
    )
    return Run.objects.create(
        job_id=code,
        slot=now - timedelta(seconds=Run.objects.count()),
        status=Run.Status.RUNNING,
        started_at=now,
        hostname=host or hostname(),
        pid=pid if pid is not None else os.getppid(),
        lease_until=now + timedelta(seconds=lease),
    )


def status(run: Run) -> str:
    return Run.objects.get(pk=run.pk).status


@pytest.mark.django_db
class TestRecovery:
    def test_a_run_whose_process_is_gone_from_this_host_is_crashed_at_once(self):
        run = running(pid=dead_pid())
        [outcome] = recovery.recover({}, timezone.now())
        assert (outcome.status, status(run)) == ("crashed", "crashed")
        assert "is gone" in outcome.message

    def test_a_run_whose_lease_passed_is_crashed_whatever_its_host(self):
        run = running(host="elsewhere", lease=-1)
        [outcome] = recovery.recover({}, timezone.now())
        assert status(run) == "crashed"
        assert "stopped renewing its lease" in outcome.message

    def test_live_runs_are_left_alone_even_several_of_one_job(self):
        here = [running(), running()]  # overlap = "allow": two at once, both alive
        there = running(host="elsewhere", lease=60)
        assert recovery.recover({}, timezone.now()) == []
        assert [status(r) for r in [*here, there]] == ["running"] * 3

    def test_a_crashed_run_with_retries_left_is_retried(self):
        run = running(pid=dead_pid())
        recovery.recover({"test.retried": Retried}, timezone.now())
        job = Job.objects.get(code="test.retried")
        assert (job.retry_slot, job.retry_attempt) == (run.slot, 2)


@pytest.mark.django_db
def test_the_heartbeat_renews_runs_and_locks_that_used_a_third_of_their_lease():
    run = running(lease=0.3)
    lock = DatabaseLock("job", ttl=timedelta(seconds=0.3), owner="me")
    assert lock.acquire()
    beat = Heartbeat()
    with beat._mutex:
        beat._runs[run.pk] = (timedelta(seconds=0.3), time.monotonic())
        beat._locks[id(lock)] = (lock, time.monotonic())
    time.sleep(0.15)
    beat.beat()
    renewed = Run.objects.get(pk=run.pk).lease_until
    assert renewed > run.lease_until
    assert lock.holder() == "me"
    Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)
    time.sleep(0.15)
    beat.beat()
    assert Run.objects.get(pk=run.pk).lease_until == renewed  # finished runs are not renewed


class TestDeadline:
    def test_it_stops_a_pure_python_loop_that_catches_exceptions(self):
        deadline = Deadline(timedelta(seconds=0.2))
        with pytest.raises(JobTimeout):
            with deadline:
                while True:
                    try:
                        pass
                    except Exception:
                        pass
        assert deadline.fired

    def test_it_stops_a_sleep(self):
        started = time.monotonic()
        with pytest.raises(JobTimeout), Deadline(timedelta(seconds=0.2)):
            time.sleep(30)
        assert time.monotonic() - started < 29

    def test_a_block_that_ends_in_time_is_not_touched(self):
        deadline = Deadline(timedelta(seconds=0.2))
        with deadline:
            pass
        time.sleep(0.3)
        assert not deadline.fired

    def test_no_timeout_means_no_watchdog(self):
        with Deadline(None) as deadline:
            pass
        assert deadline._timer is None
