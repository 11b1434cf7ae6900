"""The example project works as the README's demo command (`make demo`) runs it."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import django
import pytest

from tests.support.projects import ROOT, clear_of_the_next_minute

pytestmark = pytest.mark.processes
COPY_IGNORED = (
    ".git",
    ".venv*",
    ".nox",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    "*.sqlite3*",
    "*.log",
)


def test_the_demo_migrates_runs_every_job_and_then_has_nothing_due(tmp_path):
    project = tmp_path / "example"
    shutil.copytree(ROOT / "example", project, ignore=shutil.ignore_patterns("db.sqlite3*", "__pycache__"))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
        )

    assert manage("migrate", "--verbosity", "0").returncode == 0
    clear_of_the_next_minute(20)  # the plain runcrons below finds no new slot of the every-minute heartbeat
    forced = manage("runcrons", "--force")
    assert forced.returncode == 0, forced.stderr
    # Not a terminal: each line starts with the time ("2026-12-02 21:55:01 UTC ").
    lines = [line.split(" ", 3)[3] for line in forced.stdout.splitlines()]
    registered = [line for line in lines if ": registered (" in line]
    assert len(registered) == 5 and all("; first run " in line for line in registered)
    lines = [line for line in lines if line not in registered]
    assert [line.split(":")[0] for line in lines] == [
        "shop.heartbeat",
        "shop.refresh_prices",
        "shop.nightly_report",
        "shop.ClearSessions",
        "shop.import_feed",
    ]
    assert all(": succeeded in " in line for line in lines)
    again = manage("runcrons")
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
    status = manage("cronjobs", "list")
    assert status.returncode == 0, status.stderr
    for code in ("shop.heartbeat", "shop.refresh_prices", "shop.nightly_report", "shop.import_feed"):
        assert code in status.stdout
    assert "succeeded" in status.stdout
    with contextlib.closing(sqlite3.connect(project / "db.sqlite3")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.skipif(
    django.VERSION[:2] != (5, 2), reason="make demo installs Django 5.2: the Django 5.2 session runs it"
)
def test_make_demo_installs_the_package_and_its_runtime_dependencies_only(tmp_path):
    """``make demo`` in a copy of the checkout: its own .venv, without the test and lint tools."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*COPY_IGNORED))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": str(tmp_path), "HOME": str(Path.home())}
    made = subprocess.run(
        ["make", "--no-print-directory", "demo", f"PYTHON={sys.executable}"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert "runcrons exited 0\n" in made.stdout
    assert "runcrons exited 0 (nothing due: silent)" in made.stdout
    assert "shop.heartbeat" in made.stdout and "succeeded" in made.stdout
    listed = subprocess.run(
        [str(source / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    installed = {line.split("==")[0].lower().replace("_", "-") for line in listed.splitlines()}
    runtime = {"django", "asgiref", "sqlparse", "cronsim", "python-crontab", "pip", "setuptools", "typing-extensions"}
    assert installed - runtime == set(), listed
    assert "django" in installed
