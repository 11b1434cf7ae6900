"""Handed-off runs follow their task to its final result (cronjobs' DatabaseBackend, in process)."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings
from django.utils import timezone

from cronjobs import registry
from cronjobs.engine import following
from cronjobs.models import Job, Run
from cronjobs.ops.overview import collect
from cronjobs.tasks.worker import Worker
from tests.testapp.models import Effect

pytestmark = pytest.mark.django_db(transaction=True)

HANDED = override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.HandedOff"]})
FAILS = override_settings(
    CRONJOBS={"AUTODISCOVER": False, "MAIL_ADMINS": True, "JOBS": ["tests.testapp.jobs.HandedOffFails"]},
    ADMINS=["ops@example.com"],
)


@HANDED
def test_a_run_is_handed_off_until_its_task_succeeds_then_records_the_tasks_return_value():
    call_command("runcrons", "test.handed_off", "--force", "-v0")  # with job codes: no draining
    run = Run.objects.get()
    assert run.status == Run.Status.HANDED_OFF
    assert run.task_backend == "default" and run.task_id
    assert run.lease_until is None and run.finished_at is None
    assert following.follow() == []  # the task has not run yet
    assert Run.objects.get().status == Run.Status.HANDED_OFF
    Worker().drain()
    (outcome,) = following.follow()
    assert outcome.status == Run.Status.SUCCEEDED
    run = Run.objects.get()
    assert run.status == Run.Status.SUCCEEDED and run.message.startswith("ran for ")
    assert run.finished_at is not None and run.duration is not None and run.duration >= 0
    assert following.follow() == []  # recorded once
    assert Effect.objects.count() == 1


@HANDED
def test_cronjobs_list_shows_a_handed_off_run_as_the_last_run():
    call_command("runcrons", "test.handed_off", "--force", "-v0")
    (row,) = collect(registry.get_jobs(), timezone.now())
    assert row.last_run is not None and row.last_run.status == Run.Status.HANDED_OFF


@FAILS
def test_a_failed_task_fails_its_run_with_the_tasks_error_and_mails_once(mailoutbox):
    with pytest.raises(CommandError, match="1 of 1 run"):
        call_command("runcrons", "--force", "-v0")  # hands off, drains (the task fails), follows
    run = Run.objects.get()
    assert run.status == Run.Status.FAILED
    assert run.message.startswith("ValueError: the heavy work for ") and run.message.endswith(" failed")
    assert "Traceback" in run.traceback and "ValueError" in run.traceback
    # (Django 6's django.tasks also logs the task's failure at ERROR, which AdminEmailHandler mails.)
    ours = [m.subject for m in mailoutbox if "cron job" in m.subject]
    assert ours == ["[Django] cron job test.handed_off_fails failed"]
    assert following.follow() == []
    call_command("runcrons", "-v0")  # nothing due, nothing new to follow
    assert [m.subject for m in mailoutbox if "cron job" in m.subject] == ours
    assert Job.objects.get(code="test.handed_off_fails").failing_since is not None
    assert Effect.objects.count() == 0  # the task's transaction rolled back


@FAILS
def test_a_task_the_backend_no_longer_has_fails_its_run_saying_so():
    call_command("runcrons", "test.handed_off_fails", "--force", "-v0")
    from cronjobs.tasks.models import QueuedTask

    QueuedTask.objects.all().delete()
    (outcome,) = following.follow()
    assert outcome.status == Run.Status.FAILED
    assert "no longer exists" in Run.objects.get().message


@HANDED
def test_a_handed_off_run_is_never_pruned_nor_declared_crashed():
    call_command("runcrons", "test.handed_off", "--force", "-v0")
    assert Run.objects.prune("test.handed_off", 0, None) == 0
    assert Run.objects.crash_lost(timezone.now() + timedelta(days=1)) == []
    assert Run.objects.get().status == Run.Status.HANDED_OFF


@pytest.mark.processes
def test_across_processes_a_drained_task_settles_its_run_once_and_mails_once(tmp_path):
    """One runcrons hands off, another drains the task (it fails), two more follow: one verdict, one mail."""
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    from tests.support.projects import clear_of_the_next_minute

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CRONJOBS_TEST_DB_VENDOR": "sqlite",
        "CRONJOBS_TEST_DB_NAME": str(tmp_path / "db.sqlite3"),
        "CRONJOBS_TEST_LOCK_DIR": str(tmp_path / "locks"),
        "CRONJOBS_TEST_MAIL_DIR": str(tmp_path / "mail"),
        "CRONJOBS_TEST_JOBS": "tests.testapp.jobs.HandedOffFails",
    }

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(root / "tests" / "manage.py"), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    def status() -> list[tuple]:
        with contextlib.closing(sqlite3.connect(tmp_path / "db.sqlite3")) as db:
            return db.execute("SELECT status, message FROM cronjobs_run").fetchall()

    assert manage("migrate", "-v0").returncode == 0
    clear_of_the_next_minute(25)  # the plain runcrons below find no new slot of this every-minute job
    handed = manage("runcrons", "--force", "test.handed_off_fails")
    assert handed.returncode == 0, handed.stdout + handed.stderr
    assert status()[0][0] == "handed_off"
    drained = manage("runcrons", "--tasks-only")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert status()[0][0] == "handed_off"  # --tasks-only follows nothing
    first = manage("runcrons")
    assert first.returncode == 1 and "test.handed_off_fails: failed" in first.stdout, first.stdout + first.stderr
    second = manage("runcrons")
    assert second.returncode == 0, second.stdout + second.stderr
    ((state, message),) = status()
    assert state == "failed" and message.startswith("ValueError: the heavy work for ")
    mails = [p.read_text() for p in (tmp_path / "mail").iterdir()]
    ours = [m for m in mails if "Subject: [Django] cron job test.handed_off_fails failed" in m]
    assert len(ours) == 1, mails  # (Django 6 also mails django.tasks' own ERROR log of the task)


@HANDED
def test_the_admin_shows_a_handed_off_run_and_its_task(admin_client):
    call_command("runcrons", "test.handed_off", "--force", "-v0")
    run = Run.objects.get()
    listing = admin_client.get("/admin/cronjobs/run/")
    assert listing.status_code == 200 and "handed off" in listing.content.decode()
    page = admin_client.get(f"/admin/cronjobs/run/{run.pk}/change/")
    assert page.status_code == 200 and run.task_id in page.content.decode()


@override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.EveryMinute"]})
def test_without_a_job_that_hands_off_following_costs_no_query(django_assert_num_queries):
    registry.reset()
    registry.get_jobs()  # the stored schedules: read once per invocation, before
    with django_assert_num_queries(0):
        assert following.follow() == []
