"""The example project's own tests pass: they test its jobs with cronjobs.testing, as a user would."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.support.projects import ROOT

pytestmark = pytest.mark.processes


def test_the_example_projects_tests_of_its_jobs_pass(tmp_path):
    project = tmp_path / "example"
    shutil.copytree(ROOT / "example", project, ignore=shutil.ignore_patterns("db.sqlite3*", "__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout, result.stdout
