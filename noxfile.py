"""The test matrix: ``make test`` runs the sessions tagged ``ci``; ``nox -l`` lists them all.

Supported: Django 5.2 on Python 3.10-3.13, Django 6.0 and 6.1 on Python 3.12-3.13. Each test
runs where it adds something: CI runs the whole suite once, on Django 5.2 / Python 3.11 (real
processes, test hosts, the browser, the long replays), tests side by side (pytest-xdist); on
Django 6.1 / Python 3.13 the in-process tests and a smoke set of the process tests (``smoke``:
see tests/conftest.py); and the in-process tests (``-m "not processes and not browser"``) on
Django 6.0 / Python 3.12 and Django 5.2 / Python 3.10.

Interpreters come from pyenv when it is there (``$(pyenv root)/versions/3.X.*``), else from PATH;
a missing one is an error, never a skip. Virtualenvs are made by uv when it is there (nox's
``uv`` backend; requirements/nox.txt installs it), else by virtualenv. Dependencies are pinned
in ``requirements/``: one file per Django version, ``dev.txt`` for the test tools, ``lint.txt``
for ruff and mypy, ``docs.txt`` for the docs site.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
REQUIREMENTS = ROOT / "requirements"

#: (Python, Django) pairs we support, each with what CI runs on it: "all" (the whole suite),
#: "smoke" (the in-process tests and the process tests marked ``smoke``), "in-process" (no
#: processes, no browser) or None (run only when asked for by name).
MATRIX: list[tuple[str, str, str | None]] = [
    ("3.10", "5.2", "in-process"),
    ("3.11", "5.2", "all"),
    ("3.12", "5.2", None),
    ("3.13", "5.2", None),
    ("3.12", "6.0", "in-process"),
    ("3.13", "6.0", None),
    ("3.12", "6.1", None),
    ("3.13", "6.1", "smoke"),
]
IN_PROCESS = "not processes and not browser"
#: What the ``tests`` sessions select (``-m``): the whole suite where CI runs it, else the smoke
#: set (a session named on the command line runs the whole suite with ``-- -m ""``).
SELECTION = {"all": "", "smoke": f"({IN_PROCESS} and not slow) or smoke"}
#: The process tests that also run in the in-process session of Django 6.0.
DURABILITY = ["tests/tasks/test_durability.py"]
#: pytest-xdist workers of a ``tests`` session: most process tests wait (on a lease, a child,
#: the next minute), so more workers than cores; CRONJOBS_TEST_WORKERS overrides it.
WORKERS = os.environ.get("CRONJOBS_TEST_WORKERS", "4")
#: What a copy of the checkout leaves out (tests/test_packaging.py builds from such a copy too).
NOT_SOURCES = (".git", ".venv*", ".nox", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.sqlite3*")
#: Tests that cannot pass on a Python version, and why (none today).
KNOWN_LIMITS: dict[str, list[str]] = {}

nox.options.default_venv_backend = "uv|virtualenv"  # uv when installed (requirements/nox.txt): fastest
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"
nox.options.tags = ["ci"]  # a bare `nox` runs what CI runs, one session after the other


def _pyenv_interpreters() -> None:
    """Put the newest pyenv build of each supported Python first on PATH, so ``python3.X`` is that one."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False).stdout.strip()
    versions = Path(root or Path.home() / ".pyenv") / "versions"
    directories = []
    for minor in sorted({python for python, _, _ in MATRIX}):
        builds = [p for p in versions.glob(f"{minor}.*") if re.fullmatch(rf"{re.escape(minor)}\.\d+", p.name)]
        builds.sort(key=lambda p: int(p.name.rsplit(".", 1)[1]))
        if builds and (builds[-1] / "bin" / f"python{minor}").exists():
            directories.append(str(builds[-1] / "bin"))
    os.environ["PATH"] = os.pathsep.join([*directories, os.environ.get("PATH", "")])


_pyenv_interpreters()


def _install(session: nox.Session, *names: str, package: bool = True) -> None:
    """Install ``requirements/NAME.txt`` for each name, exactly (no unpinned dependency sneaks in),
    then this checkout, editable: the example project and the crontab entries of the tests import it."""
    files = [arg for name in names for arg in ("-r", str(REQUIREMENTS / f"{name}.txt"))]
    session.install("--no-deps", *files)
    if package:
        with _checkout_lock():  # setuptools writes cronjobs.egg-info into the checkout
            session.install("--no-deps", "--no-build-isolation", "-e", str(ROOT))
    if session.venv_backend == "uv":
        session.run_install("uv", "pip", "check", "--python", str(session.virtualenv.location), silent=True)
    else:
        session.run("python", "-m", "pip", "check", silent=True)


@contextlib.contextmanager
def _checkout_lock() -> Iterator[None]:
    """One session at a time (``nox --parallel`` runs each in its own process)."""
    path = ROOT / ".nox" / "checkout.lock"
    path.parent.mkdir(exist_ok=True)
    with path.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield


def _compile(session: nox.Session) -> None:
    """Byte-compile the checkout once: the hundreds of manage.py processes the tests start then
    read it compiled even where PYTHONDONTWRITEBYTECODE keeps them from writing it (~0.1 s each)."""
    session.run("python", "-m", "compileall", "-q", "cronjobs", "tests", "example", silent=True)


def _beside(session: nox.Session, *args: str) -> None:
    """Run a command of a short session at a low priority: beside the two whole-suite sessions
    (``make test``), it takes the CPU they leave, instead of slowing them down."""
    session.run("nice", "-n", "10", *args, external=True)


def _deselected(session: nox.Session) -> list[str]:
    return [f"--deselect={test}" for test in KNOWN_LIMITS.get(str(session.python), [])]


def _params(wanted: set[str | None]) -> list:
    return [
        nox.param(python, django, id=f"django{django}-py{python}", tags=["ci"] if ci in wanted else [])
        for python, django, ci in MATRIX
    ]


@nox.session(python="3.11", tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy, on Django 5.2."""
    _install(session, "django-5.2", "dev", "lint", package=False)
    _beside(session, "ruff", "check", ".")
    _beside(session, "ruff", "format", "--check", ".")
    _beside(session, "mypy", "cronjobs")


@nox.session
@nox.parametrize(("python", "django"), _params({"all", "smoke"}))
def tests(session: nox.Session, django: str) -> None:
    """The whole suite, tests side by side (extra arguments go to pytest); on Django 6.1 under CI,
    the in-process tests and the smoke set of the process tests."""
    # RQ (django-tasks-rq) only where it runs: on the django-tasks backport of Django 5.2.
    _install(session, f"django-{django}", "dev", *(["rq"] if django == "5.2" else []))
    _compile(session)
    ci = dict((f"{python}-{dj}", what) for python, dj, what in MATRIX).get(f"{session.python}-{django}")
    selection = SELECTION["smoke"] if ci == "smoke" else SELECTION["all"]
    session.run(
        "python",
        "-m",
        "pytest",
        "--durations=15",
        f"--numprocesses={WORKERS}",
        "--dist=worksteal",
        *(["-m", selection] if selection else []),
        *_deselected(session),
        *session.posargs,
    )


@nox.session(name="tests-in-process")
@nox.parametrize(("python", "django"), _params({"in-process"}))
def tests_in_process(session: nox.Session, django: str) -> None:
    """The tests that start no processes and no browser: seconds, not minutes."""
    _install(session, f"django-{django}", "dev")
    _compile(session)
    # The slot replays (``slow``) depend on cronsim, not on Django: on Python 3.10, whose cronsim
    # is older, and in the Django 5.2 whole suite, not here on Django 6.0 too.
    marks = IN_PROCESS if session.python == "3.10" else f"{IN_PROCESS} and not slow"
    _beside(session, "python", "-m", "pytest", "-m", marks, *_deselected(session), *session.posargs)
    if django == "6.0" and not session.posargs:
        # The relaxed bookkeeping of the task worker is kept for its gain (see the worker's doc):
        # its durability, which only real processes show, is tested on every supported Django.
        _beside(session, "python", "-m", "pytest", *DURABILITY)


@nox.session(python="3.11", tags=["ci"])
def peers(session: nox.Session) -> None:
    """The ways in from django-cron, django-crontab and django-celery-beat (tests/peers/), against the
    real packages."""
    _install(session, "django-5.2", "dev", "peers")
    # CRONJOBS_PEERS_REQUIRED: a missing package fails the session (elsewhere tests/peers is not collected).
    session.run("python", "-m", "pytest", "tests/peers", *session.posargs, env={"CRONJOBS_PEERS_REQUIRED": "1"})


@nox.session(python="3.11", tags=["ci"])
def celery(session: nox.Session) -> None:
    """Jobs handed to real Celery workers (tests/tasks/test_celery.py): RabbitMQ, Redis results."""
    _install(session, "django-5.2", "dev", "celery")
    session.run("python", "-m", "pytest", "tests/tasks/test_celery.py", *session.posargs)


@nox.session(python="3.11", default=False)
def coverage(session: nox.Session) -> None:
    """Branch coverage of cronjobs/ by the whole suite on Django 5.2, the processes it starts
    included (each Python started in the session's virtualenv measures itself): ``make coverage``."""
    _install(session, "django-5.2", "dev", "rq")
    _compile(session)
    # Not session.create_tmp(): that is the tests' TMPDIR too, under .nox, where user nobody (the
    # real-cron test) cannot read; and absolute, since the processes run in other directories.
    data = ROOT / ".nox" / "coverage-data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    rcfile = data / "coveragerc"
    rcfile.write_text(
        # This checkout's cronjobs/ only (not the copies the packaging tests build and install).
        f"[run]\nbranch = True\nparallel = True\nsource = {ROOT / 'cronjobs'}\ndata_file = {data / '.coverage'}\n"
        # Work horses are forked and end with os._exit() (or are killed): measured all the same.
        "patch =\n    fork\n    _exit\n"
        "[report]\nprecision = 1\nskip_empty = True\n"
    )
    site = session.run("python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", silent=True)
    startup = "import os; 'COVERAGE_PROCESS_START' in os.environ and __import__('coverage').process_startup()\n"
    (Path(str(site).strip()) / "cronjobs_coverage.pth").write_text(startup)
    env = {"COVERAGE_PROCESS_START": str(rcfile)}
    # The figure is reported whether tests failed or not; the session fails after it if they did.
    status = data / "pytest-exit-status"
    pytest = ["-m", "pytest", f"--numprocesses={WORKERS}", "--dist=worksteal", *session.posargs]
    keep = "import pathlib, subprocess, sys; pathlib.Path(sys.argv[1]).write_text(str(subprocess.call(sys.argv[2:])))"
    session.run("python", "-c", keep, str(status), "python", *pytest, env=env)
    passed = status.exists() and status.read_text() == "0"
    session.run("python", "-m", "coverage", "combine", "-q", f"--rcfile={rcfile}", env=env)
    session.run("python", "-m", "coverage", "report", f"--rcfile={rcfile}", "--sort=cover", env=env)
    if not passed:
        session.error("some tests failed (the figure above counts what ran)")


@nox.session(python="3.11", tags=["ci"])
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel, and check them with twine (tests/test_packaging.py installs the wheel)."""
    _install(session, "release", package=False)
    with tempfile.TemporaryDirectory() as tmp:
        # From a clean copy, as a release builds it: nothing stale from the checkout, and no
        # cronjobs.egg-info written into it while the test sessions run.
        source, out = Path(tmp) / "source", Path(tmp) / "out"
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
        if session.run("python", "-m", "build", "--outdir", str(out), str(source), silent=True) is None:
            return  # --install-only
        built = sorted(p.name for p in out.iterdir())
        session.log(f"built {', '.join(built)}")
        if len(built) != 2:
            session.error(f"expected an sdist and a wheel, got {built}")
        session.run("twine", "check", "--strict", *(str(out / name) for name in built))


@nox.session(python="3.13", tags=["ci"])
def docs(session: nox.Session) -> None:
    """The docs site (docs/): Sphinx, warnings as errors, every link between pages checked;
    the reference tables are generated from this checkout's code. Output: docs/_build/html."""
    _install(session, "django-6.1", "docs", package=False)  # docs/conf.py imports cronjobs from the checkout
    out = ROOT / "docs" / "_build"
    # -n: every reference must resolve; -E: read every page again, so no warning hides in a cache.
    _beside(
        session,
        "python",
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-n",
        "-E",
        "-q",
        "-b",
        "html",
        "-d",
        str(out / "doctrees"),
        "docs",
        str(out / "html"),
    )


@nox.session(python="3.11", default=False)
def bench(session: nox.Session) -> None:
    """The benchmarks (benchmarks/run.py; extra arguments name the ones to run)."""
    _install(session, "django-5.2", "dev")
    session.run("python", "benchmarks/run.py", *session.posargs)
