"""The wheel holds every module of the package and the scaffolding templates, inside the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORED = (".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.sqlite3*", "*.log")


def test_the_wheel_ships_the_templates_inside_cronjobs_and_every_module(tmp_path: Path) -> None:
    # Built from a clean copy: setuptools' build/ directory in the checkout could hold stale files.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*IGNORED))
    wheels = tmp_path / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = wheels.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = sorted(p.name for p in (ROOT / "management_templates").glob("*.py-tpl"))
    assert templates, "no templates in management_templates/"
    for name in templates:
        assert f"cronjobs/management_templates/{name}" in names
    # Not a top-level directory (or package) of its own in site-packages.
    assert not [n for n in names if n.startswith("management_templates/")]
    # Every module of the source tree is in the wheel: a package missing from the explicit
    # list in pyproject.toml would be left out silently otherwise.
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "cronjobs").rglob("*.py") if "__pycache__" not in p.parts}
    assert modules - names == set()
    assert "cronjobs/py.typed" in names
