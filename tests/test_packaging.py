"""The distributions: what the wheel holds, and that it installs and works in a fresh venv.

The wheel is built once per session from a clean copy of the checkout (``nox -s package``
builds the sdist and the wheel from it as a release does, and checks them with twine).
The fresh venv gets the wheel and its declared dependencies only (no test tools), pinned to
the versions this session tests; a throwaway project there runs startcronjob, migrate and
runcrons, and drains a one-off task through ``cronjobs.tasks.DatabaseBackend``: with
``django.tasks`` on Django 6 (a plain ``pip install cronjobs``), with the backport through
the ``tasks`` extra on Django 5.2.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import django
import pytest

import cronjobs

ROOT = Path(__file__).resolve().parent.parent
IGNORED = (".git", ".venv*", ".nox", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.sqlite3*", "*.log")
DJANGO_6 = django.VERSION >= (6, 0)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a clean copy of the checkout (with this environment's setuptools)."""
    base = tmp_path_factory.mktemp("dists")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*IGNORED))
    out = base / "out"
    command = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(source)]
    result = run(command, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("*.whl")
    return built


def run(args: list[str], *, timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]


@pytest.mark.processes  # builds the distributions
def test_the_wheel_is_named_cronjobs_at_the_packages_one_version(wheel: Path) -> None:
    assert wheel.name == f"cronjobs-{cronjobs.__version__}-py3-none-any.whl"
    metadata = zipfile.ZipFile(wheel).read(f"cronjobs-{cronjobs.__version__}.dist-info/METADATA").decode()
    assert re.search(r"^Name: cronjobs$", metadata, re.M)
    assert re.search(rf"^Version: {re.escape(cronjobs.__version__)}$", metadata, re.M)
    # The one place the version is written: pyproject.toml reads it from cronjobs/__init__.py.
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()


@pytest.mark.processes  # builds the distributions
def test_the_wheel_ships_the_templates_inside_cronjobs_and_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = sorted(p.name for p in (ROOT / "management_templates").glob("*.py-tpl"))
    assert templates, "no templates in management_templates/"
    for name in templates:
        assert f"cronjobs/management_templates/{name}" in names
    # Not a top-level directory (or package) of its own in site-packages.
    assert not [n for n in names if n.startswith("management_templates/")]
    # Every module of the source tree is in the wheel: a package missing from the explicit
    # list in pyproject.toml would be left out silently otherwise. So is every admin template.
    files = {str(p.relative_to(ROOT)) for p in (ROOT / "cronjobs").rglob("*") if p.suffix in (".py", ".html")}
    assert {f for f in files if "__pycache__" not in f} - names == set()
    assert "cronjobs/py.typed" in names


def test_the_package_imports_nothing_it_does_not_declare() -> None:
    """Every module cronjobs imports is the standard library's, Django's or a declared dependency's."""

    def normal(name: str) -> str:  # PEP 503: prometheus_client and prometheus-client are one project
        return re.sub(r"[-_.]+", "-", name).lower()

    declared = {
        normal(re.split(r"[ ;<>=!~\[]", r, maxsplit=1)[0]) for r in importlib.metadata.requires("cronjobs") or []
    }
    providers = importlib.metadata.packages_distributions()
    undeclared = {}
    for path in (ROOT / "cronjobs").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top == "cronjobs":
                    continue
                # A module not installed here (the backport on Django 6) is known by its distribution's name.
                if not {normal(d) for d in providers.get(top, [top])} & declared:
                    undeclared.setdefault(top, []).append(str(path.relative_to(ROOT)))
    assert undeclared == {}


@pytest.mark.processes  # builds the distributions
def test_the_wheel_installed_in_a_fresh_venv_scaffolds_migrates_runs_jobs_and_tasks(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    created = run([sys.executable, "-m", "venv", "--without-pip", str(venv)])  # this pip installs into it
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    version = f"{django.VERSION[0]}.{django.VERSION[1]}"
    # The versions this session tests, the way a user installs: the extra only where it is needed.
    requirement = f"{wheel}[tasks]" if not DJANGO_6 else str(wheel)
    constraints = [f"--constraint={ROOT / 'requirements' / name}" for name in (f"django-{version}.txt", "dev.txt")]
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    installed = run([*pip, "install", "--quiet", *constraints, requirement], timeout=600)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    listed = run([*pip, "list", "--format=freeze"]).stdout
    packages = {line.split("==")[0].lower().replace("_", "-") for line in listed.splitlines()}
    assert "pytest" not in packages
    if DJANGO_6:  # django.tasks only: no backport, and nothing it would have brought (typing_extensions)
        assert not packages & {"django-tasks", "typing-extensions"}, listed
    else:
        assert "django-tasks" in packages

    project = make_project(tmp_path / "project", tasks_module="django.tasks" if DJANGO_6 else "django_tasks")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONWARNINGS": "error", "TMPDIR": str(tmp_path)}

    def manage(*args: str) -> subprocess.CompletedProcess:
        return run([str(python), "manage.py", *args], cwd=project, env=env, timeout=120)

    where = run([str(python), "-c", "import cronjobs; print(cronjobs.__file__)"], cwd=project, env=env)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    for args in (
        ("startcronjob", "myapp", "Heartbeat", "--schedule", "* * * * *"),
        ("check", "--fail-level", "WARNING"),
        ("migrate", "--verbosity", "0"),
    ):
        result = manage(*args)
        assert result.returncode == 0, (args, result.stdout + result.stderr)
    enqueued = manage("shell", "-c", "from myapp.tasks import add; print(add.enqueue(2, 3).id)")
    assert enqueued.returncode == 0, enqueued.stderr
    ran = manage("runcrons", "--force")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "myapp.Heartbeat: succeeded" in ran.stdout
    result_id = enqueued.stdout.split()[-1]  # after what Django 5.2's shell says about its imports
    check = (
        f"from myapp.tasks import add; r = add.get_result({result_id!r}); "
        "print(type(r).__module__, r.status, r.return_value)"
    )
    found = manage("shell", "-c", check)
    assert found.returncode == 0, found.stderr
    framework = "django.tasks.base" if DJANGO_6 else "django_tasks.base"
    assert found.stdout.split()[-3:] == [framework, "SUCCESSFUL", "5"]


def make_project(path: Path, tasks_module: str) -> Path:
    (path / "myapp").mkdir(parents=True)
    (path / "myapp" / "__init__.py").write_text("")
    (path / "myapp" / "tasks.py").write_text(
        f"from {tasks_module} import task\n\n\n@task\ndef add(a, b):\n    return a + b\n"
    )
    (path / "settings.py").write_text(
        textwrap.dedent(
            """\
            SECRET_KEY = "wheel-test"
            USE_TZ = True
            TIME_ZONE = "UTC"
            INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "cronjobs", "cronjobs.tasks", "myapp"]
            DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
            DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
            CRONJOBS = {"LOCK_DIR": "locks"}
            TASKS = {"default": {"BACKEND": "cronjobs.tasks.DatabaseBackend"}}
            """
        )
    )
    (path / "manage.py").write_text(
        "import os, sys\n"
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")\n'
        "from django.core.management import execute_from_command_line\n"
        "execute_from_command_line(sys.argv)\n"
    )
    return path


#: parse-crontab, which rq-scheduler (and so django-tasks-rq) requires: its ``crontab`` package
#: shadows python-crontab's ``crontab`` module, whichever is installed first.
PARSE_CRONTAB = "crontab==1.0.5"


@pytest.mark.processes  # builds the distributions and two venvs
@pytest.mark.slow
@pytest.mark.parametrize("first", ["cronjobs", "parse-crontab"])
def test_the_wheel_works_beside_parse_crontab_installed_before_or_after_it(
    wheel: Path, tmp_path: Path, first: str
) -> None:
    venv = tmp_path / "venv"
    created = run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    version = f"{django.VERSION[0]}.{django.VERSION[1]}"
    requirement = f"{wheel}[tasks]" if not DJANGO_6 else str(wheel)
    constraints = [f"--constraint={ROOT / 'requirements' / name}" for name in (f"django-{version}.txt", "dev.txt")]
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *constraints]
    steps = [[requirement], [PARSE_CRONTAB]]
    for step in steps if first == "cronjobs" else steps[::-1]:
        installed = run([*pip, *step], timeout=600)
        assert installed.returncode == 0, installed.stdout + installed.stderr
    project = make_project(tmp_path / "project", tasks_module="django.tasks" if DJANGO_6 else "django_tasks")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": str(tmp_path)}

    def manage(*args: str) -> subprocess.CompletedProcess:
        return run([str(python), "manage.py", *args], cwd=project, env=env, timeout=120)

    shadow = run([str(python), "-c", "import crontab; print(hasattr(crontab, 'CronItem'), crontab.__file__)"], env=env)
    assert shadow.stdout.startswith("False "), shadow.stdout + shadow.stderr  # the conflict is real
    for args in (
        ("startcronjob", "myapp", "Heartbeat", "--schedule", "* * * * *"),
        ("migrate", "--verbosity", "0"),
        ("check", "--fail-level", "WARNING"),
        ("cronjobs", "list"),
    ):
        result = manage(*args)
        assert result.returncode == 0, (args, result.stdout + result.stderr)
    checked = manage("check")
    assert "cronjobs.I170" in checked.stderr and "crontab 1.0.5" in checked.stderr, checked.stderr
    ran = manage("runcrons", "--force")
    assert ran.returncode == 0 and "myapp.Heartbeat: succeeded" in ran.stdout, ran.stdout + ran.stderr
    tabfile = tmp_path / "crontab.txt"
    installed = manage("installcrons", "--tabfile", str(tabfile))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert "`import crontab` gives crontab 1.0.5" in installed.stderr
    assert "runcrons" in tabfile.read_text()
