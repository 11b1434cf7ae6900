"""Jobs handed to Celery (cronjobs.tasks.celery): real RabbitMQ, real Redis results, real
``celery worker`` processes; each slot runs once, and the run follows its task to the end."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.projects import require_redis, unavailable, wait_for

ROOT = Path(__file__).resolve().parents[2]
AMQP_URL = os.environ.get("CRONJOBS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("CRONJOBS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JOBS = ("test.handed_to_celery", "test.handed_to_celery_fails")

pytestmark = [pytest.mark.processes]


def require_rabbitmq() -> None:
    """Skip (fail under CI) when the RabbitMQ of the Celery tests is not reachable."""
    from kombu import Connection

    try:
        with Connection(AMQP_URL, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:
        unavailable(f"rabbitmq not reachable at {AMQP_URL}: {exc}")


@pytest.fixture
def celery_project(tmp_path: Path):
    pytest.importorskip("celery")
    require_rabbitmq()
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
        "CRONJOBS_TEST_CACHE_PREFIX": queue,
        "CRONJOBS_TEST_CELERY_QUEUE": queue,
        "CRONJOBS_TEST_JOBS": "tests.testapp.jobs.HandedToCelery,tests.testapp.jobs.HandedToCeleryFails",
    }

    def start(*args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=tmp_path,
            start_new_session=True,
        )

    def manage(*args: str) -> subprocess.Popen:
        return start(str(ROOT / "tests" / "manage.py"), *args)

    migrated = manage("migrate", "-v0")
    out = migrated.communicate(timeout=120)[0]
    assert migrated.returncode == 0, out
    workers = [
        start(
            "-m",
            "celery",
            "-A",
            "cronjobs.tasks.celery",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{queue}-{n}@%h",
            "--pool=solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        )
        for n in range(2)
    ]
    try:
        yield manage, tmp_path, workers
    finally:
        for worker in workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.communicate(timeout=30)
        from kombu import Connection

        with Connection(AMQP_URL, connect_timeout=5) as connection:
            channel = connection.default_channel
            with contextlib.suppress(Exception):
                channel.queue_delete(queue)
            with contextlib.suppress(Exception):
                connection.default_channel.exchange_delete(queue)
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{queue}*"):
            client.delete(key)


def query(path: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path / "db.sqlite3", timeout=30)) as db:
        return db.execute(sql).fetchall()


def runs(path: Path) -> list[tuple]:
    return query(
        path, "SELECT job_code, slot, status, message, traceback <> '' FROM cronjobs_run ORDER BY job_code, slot"
    )


def test_jobs_handed_to_celery_run_once_per_slot_on_celery_workers_and_their_runs_end_with_the_tasks_result(
    celery_project,
) -> None:
    manage, path, workers = celery_project

    # The every-minute jobs are due from the slot after runcrons first saw them. Three runcrons
    # at once, again and again until then: each due slot is claimed and handed to Celery once.
    def handed_off() -> bool:
        invocations = [manage("runcrons") for _ in range(3)]
        for invocation in invocations:
            out = invocation.communicate(timeout=180)[0]
            assert invocation.returncode in (0, 1), out  # 1: a failed run was followed already
        return len(runs(path)) >= 2

    wait_for(handed_off, timeout=200, interval=2)
    handed = runs(path)
    assert {r[0] for r in handed} == set(JOBS), handed
    assert {r[2] for r in handed} <= {"handed_off", "succeeded", "failed"}, handed
    slots = [r[:2] for r in handed]
    assert len(slots) == len(set(slots)), handed

    def settled() -> bool:
        # A minute that turns meanwhile adds runs of its slot: they are followed the same way.
        manage("runcrons").communicate(timeout=180)
        return all(r[2] != "handed_off" for r in runs(path))

    try:
        wait_for(settled, timeout=240, interval=2)
    except AssertionError:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGKILL)
        raise AssertionError("\n".join(w.communicate(timeout=30)[0] for w in workers)) from None

    final = runs(path)
    # Each slot's work ran once, on a Celery worker (the failing job's effect is rolled back
    # with its transaction: its runs, one per slot, say it).
    effects = query(path, "SELECT job, slot, COUNT(*) FROM testapp_effect GROUP BY job, slot ORDER BY job, slot")
    assert [(job, slot) for job, slot, _ in effects] == [r[:2] for r in final if r[0] == JOBS[0]]
    assert {count for _, _, count in effects} == {1}
    assert len({r[:2] for r in final}) == len(final)
    worker_pids = {w.pid for w in workers}
    assert {pid for (pid,) in query(path, "SELECT DISTINCT pid FROM testapp_effect")} <= worker_pids
    for job, _, status, message, traceback in final:
        if job == "test.handed_to_celery":
            assert (status, traceback) == ("succeeded", 0) and message.startswith("ran for "), final
        else:
            assert status == "failed" and traceback == 1, final
            assert message.startswith("ValueError: the heavy work for "), final
    for _ in range(2):  # later passes record nothing again, and mail nothing again
        manage("runcrons").communicate(timeout=180)
    later = {r[:2]: r[2:] for r in runs(path)}
    assert [later[r[:2]] for r in final] == [r[2:] for r in final]
    failed = [r for r in later.values() if r[0] == "failed"]
    mails = [p.read_text() for p in (path / "mail").iterdir()]
    assert len(mails) == len(failed) and all("cron job test.handed_to_celery_fails failed" in m for m in mails)
    assert all("ValueError: the heavy work for" in m for m in mails)


def test_a_result_backend_that_cannot_keep_the_task_records_is_a_system_check_error():
    pytest.importorskip("celery")
    from cronjobs.tasks.celery import CeleryBackend

    def ids(app: str) -> list[str]:
        backend = CeleryBackend("celery", {"QUEUES": [], "OPTIONS": {"APP": app}})
        return [message.id for message in backend.check()]

    assert "cronjobs.E059" in ids("tests.testapp.celery_apps.rpc_results")
    assert "cronjobs.E059" not in ids("tests.testapp.celery_apps.redis_results")
