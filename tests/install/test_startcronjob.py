"""``manage.py startcronjob APP NAME``: scaffolds that pass the system checks and run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from cronjobs.install import scaffold
from cronjobs.install.scaffold import ScaffoldError, add_job

ROOT = Path(__file__).resolve().parents[2]

SETTINGS = """\
SECRET_KEY = "scaffold-test"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "cronjobs", "myapp"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CRONJOBS = {"LOCK_DIR": "locks"}
"""
MANAGE = """\
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""


def make_project(path: Path) -> Path:
    (path / "myapp").mkdir(parents=True)
    (path / "myapp" / "__init__.py").write_text("")
    (path / "settings.py").write_text(SETTINGS)
    (path / "manage.py").write_text(MANAGE)
    return path


def manage(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.processes
def test_what_it_writes_passes_the_checks_and_runs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    created = manage(project, "startcronjob", "myapp", "RefreshPrices", "--schedule", "*/5 * * * *")
    assert created.returncode == 0, created.stderr
    assert "Created" in created.stdout and "code 'myapp.RefreshPrices'" in created.stdout
    added = manage(project, "startcronjob", "myapp", "nightly_report", "--schedule", "@daily")
    assert added.returncode == 0, added.stderr
    assert "class NightlyReport" in added.stdout
    source = (project / "myapp" / "cron.py").read_text()
    assert source.count("from cronjobs import BaseCronJob") == 1
    assert '    schedule = "*/5 * * * *"' in source and '    schedule = "@daily"' in source
    assert source.count("# def on_failure(self, error):") == 2  # the hooks, shown in each scaffolded job
    for args in (("check", "--fail-level", "WARNING"), ("migrate", "--verbosity", "0")):
        result = manage(project, *args)
        assert result.returncode == 0, result.stdout + result.stderr
    ran = manage(project, "runcrons", "--force")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "myapp.RefreshPrices: succeeded" in ran.stdout
    assert "myapp.NightlyReport: succeeded" in ran.stdout


def test_a_class_of_the_same_name_is_never_overwritten(tmp_path: Path) -> None:
    add_job("myapp", tmp_path, "Sync", taken=set())
    before = (tmp_path / "cron.py").read_text()
    with pytest.raises(ScaffoldError, match="already has a class Sync"):
        add_job("myapp", tmp_path, "Sync", taken=set())
    assert (tmp_path / "cron.py").read_text() == before


def test_an_existing_cron_py_keeps_its_content_and_gets_the_import(tmp_path: Path) -> None:
    existing = textwrap.dedent(
        '''\
        """My jobs."""

        from datetime import timedelta

        from cronjobs import CommandJob


        class Clear(CommandJob):
            interval = timedelta(hours=1)
            command = "clearsessions"
        '''
    )
    (tmp_path / "cron.py").write_text(existing)
    done = add_job("myapp", tmp_path, "Report", schedule="0 3 * * *", taken=set())
    source = (tmp_path / "cron.py").read_text()
    assert not done.created
    assert source.startswith(
        existing.replace("import CommandJob\n", "import CommandJob\nfrom cronjobs import BaseCronJob\n")
    )
    assert source.endswith('        return "nothing to do yet"\n')
    compile(source, "cron.py", "exec")


def test_a_module_with_only_a_docstring_gets_the_import_after_it(tmp_path: Path) -> None:
    (tmp_path / "cron.py").write_text('"""Jobs."""\n')
    add_job("myapp", tmp_path, "Report", taken=set())
    assert (
        (tmp_path / "cron.py")
        .read_text()
        .startswith('"""Jobs."""\n\nfrom cronjobs import BaseCronJob\n\n\nclass Report')
    )


def test_a_cron_py_that_does_not_parse_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "cron.py").write_text("class Broken(:\n")
    with pytest.raises(ScaffoldError, match=r"does not parse \(line 1"):
        add_job("myapp", tmp_path, "Report", taken=set())
    assert (tmp_path / "cron.py").read_text() == "class Broken(:\n"


@pytest.mark.parametrize(
    ("name", "schedule", "message"),
    [
        ("2fast", "@daily", "not a valid Python identifier"),
        ("class", "@daily", "not a valid Python identifier"),
        ("Report", "61 * * * *", "--schedule: "),
        ("Report", "@reboot", "@reboot is not supported"),
    ],
)
def test_bad_names_and_schedules_are_refused(tmp_path: Path, name: str, schedule: str, message: str) -> None:
    with pytest.raises(ScaffoldError, match=message):
        add_job("myapp", tmp_path, name, schedule=schedule, taken=set())
    assert not (tmp_path / "cron.py").exists()


def test_a_code_already_registered_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match=r"code 'myapp\.Report' is registered already"):
        add_job("myapp", tmp_path, "Report", taken={"myapp.Report"})


def test_an_unknown_app_lists_the_installed_ones() -> None:
    with pytest.raises(CommandError, match=r"no installed app with label 'nope'; installed: .*testapp"):
        call_command("startcronjob", "nope", "Report")


def test_the_templates_are_found_in_a_source_checkout() -> None:
    assert scaffold.templates_dir() == ROOT / "management_templates"
