"""crontab.example at the repository root is what installcrons writes for the example project."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example"
PLACEHOLDERS = {str(EXAMPLE): "/path/to/example", os.path.abspath(sys.executable): "/path/to/venv/bin/python"}


def test_crontab_example_is_what_the_installer_writes_for_the_example(tmp_path: Path) -> None:
    for real in PLACEHOLDERS:
        if shlex.quote(real) != real:
            pytest.skip(f"{real} needs shell quoting, so it cannot be swapped for a placeholder")
    tabfile = tmp_path / "crontab"
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "manage.py", "installcrons", "--tabfile", str(tabfile)],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    written = tabfile.read_text()
    for real, placeholder in PLACEHOLDERS.items():
        written = written.replace(real, placeholder)
    example = (ROOT / "crontab.example").read_text()
    entries = "".join(line for line in example.splitlines(keepends=True) if not line.startswith("#"))
    assert entries == written
