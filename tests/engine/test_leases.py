"""Leases in one process: the heartbeat renews them, a lost one stops the work, dead processes' runs crash."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from cronjobs import BaseCronJob, identity
from cronjobs.engine import leases
from cronjobs.engine.leases import Heartbeat
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


def running(
    *,
    host: str | None = None,
    pid: int | None = None,
    lease: float = 60,
    code: str = "test.retried",
    **where: object,
) -> Run:
    """A running run claimed by another process (by default this test's parent, alive, on this host)."""
    now = timezone.now()
    Job.objects.get_or_create(
        code=code, defaults={"first_seen": now, "watermark": now, "schedule_key": "", "next_slot": now}
    )
    run = Run.new(code, now - timedelta(seconds=Run.objects.count()), 1, lease=timedelta(seconds=lease))
    run.hostname = host or run.hostname
    run.pid = pid if pid is not None else os.getppid()
    for name, value in where.items():
        setattr(run, name, value)
    run.save()
    return run


def status(run: Run) -> str:
    return Run.objects.get(pk=run.pk).status


@pytest.mark.django_db
class TestRecovery:
    def test_a_run_whose_process_is_gone_from_this_host_is_crashed_at_once(self):
        run = running(pid=dead_pid())
        [outcome] = leases.recover(timezone.now())
        assert (outcome.status, status(run)) == ("crashed", "crashed")
        assert "is gone" in outcome.message

    def test_a_run_whose_lease_passed_is_crashed_whatever_its_host(self):
        run = running(host="elsewhere", lease=-1)
        [outcome] = leases.recover(timezone.now())
        assert status(run) == "crashed"
        assert "stopped renewing its lease" in outcome.message

    def test_live_runs_are_left_alone_even_several_of_one_job(self):
        here = [running(), running()]  # overlap = "allow": two at once, both alive
        there = running(host="elsewhere", lease=60)
        assert leases.recover(timezone.now()) == []
        assert [status(r) for r in [*here, there]] == ["running"] * 3

    @override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.engine.test_leases.Retried"]})
    def test_a_crashed_run_with_retries_left_is_retried(self):
        run = running(pid=dead_pid())
        leases.recover(timezone.now())
        job = Job.objects.get(code="test.retried")
        assert (job.retry_slot, job.retry_attempt) == (run.slot, 2)

    def test_a_run_of_a_dead_pid_in_another_pid_namespace_waits_for_its_lease(self):
        # Two containers with one hostname: a pid of the other namespace says nothing here.
        me = identity.current()
        run = running(pid=dead_pid(), pid_namespace=(me.pid_namespace or 0) + 1)
        assert leases.recover(timezone.now()) == []
        assert status(run) == "running"

    def test_a_run_of_a_dead_pid_from_an_earlier_boot_waits_for_its_lease(self):
        run = running(pid=dead_pid(), boot_id="another-boot")
        assert leases.recover(timezone.now()) == []
        assert status(run) == "running"

    def test_a_run_of_another_namespace_crashes_by_its_lease(self):
        me = identity.current()
        run = running(pid=dead_pid(), pid_namespace=(me.pid_namespace or 0) + 1, lease=-1)
        [outcome] = leases.recover(timezone.now())
        assert status(run) == "crashed"
        assert "stopped renewing its lease" in outcome.message


@pytest.mark.django_db
class TestHeartbeat:
    def test_it_renews_runs_and_locks_that_used_a_third_of_their_lease(self):
        run = running(lease=0.3)
        lock = DatabaseLock("job", ttl=timedelta(seconds=0.3), owner="me")
        assert lock.acquire()
        beat = Heartbeat()
        beat.add_run(run, timedelta(seconds=0.3))
        beat.add_lock(lock)
        time.sleep(0.15)
        beat.beat()
        renewed = Run.objects.get(pk=run.pk).lease_until
        assert renewed > run.lease_until
        assert lock.holder() == "me"
        Run.objects.filter(pk=run.pk).update(status=Run.Status.SUCCEEDED)
        time.sleep(0.15)
        beat.beat()
        assert Run.objects.get(pk=run.pk).lease_until == renewed  # finished runs are not renewed

    def test_a_run_declared_crashed_elsewhere_is_marked_lost(self):
        run = running(lease=0.3)
        beat = Heartbeat()
        beat.add_run(run, timedelta(seconds=0.3))
        Run.objects.filter(pk=run.pk).update(status=Run.Status.CRASHED)
        time.sleep(0.15)
        beat.beat()
        assert beat.lost(run.pk)
        assert not beat.fresh(run.pk)

    def test_a_lock_taken_by_another_process_is_marked_lost(self):
        run = running(lease=60)
        lock = DatabaseLock("job", ttl=timedelta(seconds=0.3), owner="me")
        assert lock.acquire()
        beat = Heartbeat()
        beat.add_run(run, timedelta(seconds=60))
        beat.add_lock(lock)
        assert lock.break_lock() == "me"
        assert DatabaseLock("job", ttl=timedelta(seconds=60), owner="other").acquire()
        time.sleep(0.15)
        beat.beat()
        assert beat.lock_lost(lock)

    def test_a_supervisor_pumps_its_heartbeat_without_a_thread(self):
        run = running(lease=0.3)
        beat = Heartbeat()
        beat.add_run(run, timedelta(seconds=0.3))
        time.sleep(0.15)
        beat.pump()
        assert Run.objects.get(pk=run.pk).lease_until > run.lease_until
        assert beat.next_beat() > time.monotonic()

    def test_a_run_just_claimed_is_fresh_and_needs_no_check_before_it_starts(self):
        run = running(lease=60)
        beat = Heartbeat()
        beat.add_run(run, timedelta(seconds=60))
        assert beat.fresh(run.pk)
        assert not beat.fresh(run.pk + 1000)
