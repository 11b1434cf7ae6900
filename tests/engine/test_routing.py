"""A router that sends cronjobs' tables to a second database: every statement follows it."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

pytestmark = pytest.mark.processes

ADMIN = """
from django.contrib.auth.models import User
from django.test import Client
from cronjobs.models import Job, Run
user = User.objects.create_superuser("admin", "admin@example.com", "x")
client = Client()
client.force_login(user)
run = Run.objects.first()
for url in ["/admin/cronjobs/job/", "/admin/cronjobs/run/", f"/admin/cronjobs/run/{run.pk}/change/",
            "/admin/cronjobs_tasks/queuedtask/"]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
response = client.post("/admin/cronjobs/job/", {"action": "pause", "_selected_action": ["test.every_minute"]})
assert response.status_code == 302, response.status_code
assert Job.objects.get(code="test.every_minute").paused
print("admin ok")
"""


def tables(path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def rows(path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return list(conn.execute(sql))


@pytest.mark.parametrize("project", ["sqlite"], indirect=True)
def test_runs_locks_tasks_and_the_admin_follow_a_router_to_a_second_database(project, tmp_path):
    default, routed = tmp_path / "default.sqlite3", tmp_path / "cronjobs.sqlite3"
    env = {
        "CRONJOBS_TEST_DB_NAME": str(default),
        "CRONJOBS_TEST_ROUTED_DB": str(routed),
        "CRONJOBS_TEST_LOCK": "database",
    }
    for database in ("default", "cronjobs"):
        result = project.manage("migrate", "--database", database, "-v0", env=env)
        assert result.returncode == 0, result.stderr
    assert not {t for t in tables(default) if t.startswith("cronjobs")}
    assert {"cronjobs_run", "cronjobs_job", "cronjobs_lease", "cronjobs_tasks_queuedtask"} <= tables(routed)

    check = project.manage("check", jobs="EveryMinute", env=env)
    assert check.returncode == 0 and "cronjobs.W018" in check.stderr, check.stderr  # not fenced: said so

    ran = project.manage("runcrons", "--force", jobs="EveryMinute", env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert rows(routed, "SELECT job_code, status FROM cronjobs_run") == [("test.every_minute", "succeeded")]
    assert rows(routed, "SELECT name, owner FROM cronjobs_lease") == [("test.every_minute", "")]  # taken, released
    assert rows(default, "SELECT job FROM testapp_effect") == [("test.every_minute",)]

    enqueued = project.manage(
        "shell", "-c", "from tests.testapp.tasks import record; record.enqueue('routed')", env=env
    )
    assert enqueued.returncode == 0, enqueued.stderr
    drained = project.manage("runcrons", "--tasks-only", env=env)
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert rows(routed, "SELECT status FROM cronjobs_tasks_queuedtask") == [("SUCCESSFUL",)]
    assert ("routed",) in rows(default, "SELECT job FROM testapp_effect")

    listed = project.manage("cronjobs", "list", jobs="EveryMinute", env=env)
    assert listed.returncode == 0 and "succeeded" in listed.stdout, listed.stdout + listed.stderr
    admin = project.manage("shell", "-c", ADMIN, jobs="EveryMinute", env=env)
    assert admin.returncode == 0 and "admin ok" in admin.stdout, admin.stdout + admin.stderr
