"""Jobs handed to RQ (django-tasks-rq): real Redis, a real ``rq`` worker process, the run follows its task."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import django
import pytest

from tests.support.projects import require_redis

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(django.VERSION >= (6, 0), reason="django-tasks-rq builds on the django-tasks backport"),
]


@pytest.fixture
def rq_project(tmp_path: Path):
    pytest.importorskip("django_tasks_rq")
    require_redis()
    queue = f"cronjobs-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CRONJOBS_TEST_DB_VENDOR": "sqlite",
        "CRONJOBS_TEST_DB_NAME": str(tmp_path / "db.sqlite3"),
        "CRONJOBS_TEST_LOCK_DIR": str(tmp_path / "locks"),
        "CRONJOBS_TEST_MAIL_DIR": str(tmp_path / "mail"),
        "CRONJOBS_TEST_RQ_QUEUE": queue,
        "CRONJOBS_TEST_JOBS": "tests.testapp.jobs.HandedToRQ,tests.testapp.jobs.HandedToRQFails",
    }

    def manage(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "tests" / "manage.py"), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=timeout,
        )

    migrated = manage("migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    yield manage, tmp_path, queue
    import redis

    client = redis.Redis.from_url(os.environ.get("CRONJOBS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    for key in client.scan_iter(f"*{queue}*"):
        client.delete(key)


def runs(path: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path / "db.sqlite3")) as db:
        return db.execute(
            "SELECT job_code, status, message, traceback <> '' FROM cronjobs_run ORDER BY job_code"
        ).fetchall()


def test_a_job_handed_to_rq_runs_on_an_rq_worker_and_its_run_ends_with_the_tasks_result(rq_project) -> None:
    manage, path, queue = rq_project
    handed = manage("runcrons", "--force", "test.handed_to_rq", "test.handed_to_rq_fails")
    assert handed.returncode == 0, handed.stdout + handed.stderr
    assert [r[:2] for r in runs(path)] == [
        ("test.handed_to_rq", "handed_off"),
        ("test.handed_to_rq_fails", "handed_off"),
    ]
    listed = manage("cronjobs", "list")
    assert listed.stdout.count("handed off") == 2, listed.stdout
    still = manage("runcrons")  # nothing due; the tasks have not run: still handed off
    assert [r[1] for r in runs(path)] == ["handed_off", "handed_off"], still.stdout + still.stderr

    worked = manage(
        "rqworker", queue, "--burst", "--job-class", "django_tasks_rq.Job", timeout=180
    )  # a real rq worker (it forks a work horse)
    assert worked.returncode == 0, worked.stdout + worked.stderr

    followed = manage("runcrons")
    assert followed.returncode == 1, followed.stdout + followed.stderr  # a run failed
    (ok, failed) = runs(path)
    assert ok[:2] == ("test.handed_to_rq", "succeeded") and ok[2].startswith("ran for ")
    assert failed[:2] == ("test.handed_to_rq_fails", "failed")
    assert failed[2].startswith("ValueError: the heavy work for ") and failed[3] == 1
    for _ in range(2):  # later passes record nothing again, and mail nothing again
        again = manage("runcrons")
        assert again.returncode == 0, again.stdout + again.stderr
    mails = [p.read_text() for p in (path / "mail").iterdir()]
    assert len(mails) == 1 and "cron job test.handed_to_rq_fails failed" in mails[0]
    assert "ValueError: the heavy work for" in mails[0]
