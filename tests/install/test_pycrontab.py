"""python-crontab beside another ``crontab`` module (parse-crontab, pulled in by django-tasks-rq)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Info, Warning
from django.core.management import CommandError, call_command

from cronjobs.checks import check_python_crontab
from cronjobs.install import pycrontab, targets

ROOT = Path(__file__).resolve().parents[2]


def write_shadow(where: Path, *, version: str = "9.9", body: str = "VERSION = 'parse-crontab'\n") -> Path:
    """A package ``crontab`` with its distribution metadata, as parse-crontab installs it."""
    (where / "crontab").mkdir(parents=True)
    (where / "crontab" / "__init__.py").write_text(body)
    info = where / f"crontab-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: crontab\nVersion: {version}\n")
    (info / "top_level.txt").write_text("crontab\n")
    (info / "RECORD").write_text("crontab/__init__.py,,\n")
    return where


@pytest.fixture
def shadowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``import crontab`` gives a parse-crontab stand-in for the rest of the test."""
    write_shadow(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("crontab", pycrontab.PRIVATE_NAME):
        monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.invalidate_caches()
    targets._exact_crontab_class.cache_clear()  # built on the module loaded before
    yield tmp_path
    for name in ("crontab", pycrontab.PRIVATE_NAME):
        sys.modules.pop(name, None)
    importlib.invalidate_caches()
    targets._exact_crontab_class.cache_clear()  # built on a module of this test's


def test_the_shadowing_package_is_named_with_its_version(shadowed: Path) -> None:
    found = pycrontab.diagnose()
    assert found.shadowed_by == "crontab 9.9"
    assert found.module_file == str(shadowed / "crontab" / "__init__.py")
    assert found.python_crontab_file is not None and found.python_crontab_file.name == "crontab.py"
    assert "crontab" not in sys.modules  # diagnosing imports nothing


def test_python_crontab_is_loaded_from_its_own_file_and_the_other_keeps_the_name(shadowed: Path) -> None:
    module = pycrontab.load()
    assert module.__name__ == pycrontab.PRIVATE_NAME
    assert hasattr(module, "CronTab") and hasattr(module, "CronItem")
    import crontab

    assert crontab.VERSION == "parse-crontab"
    assert pycrontab.load() is module


def test_the_check_names_the_shadowing_package_and_the_way_out(shadowed: Path) -> None:
    (message,) = check_python_crontab()
    assert isinstance(message, Info) and message.id == "cronjobs.I170"
    assert "crontab 9.9" in message.msg and "shadows python-crontab" in message.msg
    assert "pip uninstall crontab" in message.hint and "SILENCED_SYSTEM_CHECKS" in message.hint


@pytest.mark.django_db  # installcrons runs every system check, the database's too
def test_installcrons_works_when_shadowed_and_says_so(shadowed: Path, tmp_path: Path, capsys) -> None:
    tabfile = tmp_path / "crontab.txt"
    call_command("installcrons", "--tabfile", str(tabfile), "--manage-py", str(ROOT / "tests" / "manage.py"))
    assert "# cronjobs:" in tabfile.read_text()
    assert "`import crontab` gives crontab 9.9" in capsys.readouterr().err


@pytest.mark.django_db
def test_without_python_crontab_installcrons_stops_and_says_how_to_install_it(
    shadowed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pycrontab, "_python_crontab_file", lambda: None)
    (message,) = check_python_crontab()
    assert isinstance(message, Warning) and message.id == "cronjobs.W171"
    with pytest.raises(pycrontab.PythonCrontabUnavailable, match=r"gives crontab 9\.9, and python-crontab is not"):
        pycrontab.load()
    tabfile = tmp_path / "crontab.txt"
    with pytest.raises(CommandError, match="pip install python-crontab") as raised:
        call_command("installcrons", "--tabfile", str(tabfile), "--manage-py", str(ROOT / "tests" / "manage.py"))
    assert raised.value.returncode == 2
    assert not tabfile.exists()


def test_nothing_is_reported_when_import_crontab_gives_python_crontab(monkeypatch: pytest.MonkeyPatch) -> None:
    own = pycrontab._python_crontab_file()
    assert own is not None
    monkeypatch.setattr(
        pycrontab.importlib.util, "find_spec", lambda name: importlib.util.spec_from_file_location(name, own)
    )
    monkeypatch.delitem(sys.modules, "crontab", raising=False)
    assert pycrontab.diagnose().shadowed_by is None
    assert check_python_crontab() == []


@pytest.mark.processes
def test_every_command_but_installcrons_works_when_import_crontab_fails(tmp_path: Path) -> None:
    """No module imports ``crontab`` at start-up: a ``crontab`` that cannot even be imported stops nothing."""
    write_shadow(tmp_path / "path", body="raise ImportError(\"cannot import name 'CronItem' from 'crontab'\")\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "path"), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CRONJOBS_TEST_DB_VENDOR": "sqlite",
        "CRONJOBS_TEST_DB_NAME": str(tmp_path / "db.sqlite3"),
        "CRONJOBS_TEST_LOCK_DIR": str(tmp_path / "locks"),
        "CRONJOBS_TEST_JOBS": "tests.testapp.jobs.EveryMinute",
    }

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "tests" / "manage.py"), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    for args in (("migrate", "-v0"), ("check", "--fail-level", "WARNING"), ("cronjobs", "list")):
        result = manage(*args)
        assert result.returncode == 0, (args, result.stdout + result.stderr)
    checked = manage("check")
    assert "cronjobs.I170" in checked.stderr + checked.stdout and "crontab 9.9" in checked.stderr + checked.stdout
    ran = manage("runcrons", "--force")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ": succeeded" in ran.stdout
    installed = manage("installcrons", "--tabfile", str(tmp_path / "tab"))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "`import crontab` gives crontab 9.9" in installed.stderr
