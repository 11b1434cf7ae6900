"""The example project works as the README's demo command runs it."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.processes


def test_the_demo_migrates_runs_every_job_and_then_has_nothing_due(tmp_path):
    project = tmp_path / "example"
    shutil.copytree(ROOT / "example", project, ignore=shutil.ignore_patterns("db.sqlite3*", "__pycache__"))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
        )

    assert manage("migrate", "--verbosity", "0").returncode == 0
    forced = manage("runcrons", "--force")
    assert forced.returncode == 0, forced.stderr
    lines = forced.stdout.splitlines()
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
    with sqlite3.connect(project / "db.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
