"""Fixtures for tests that start real ``manage.py`` processes against real databases.

``database`` is parametrised over SQLite, PostgreSQL and MariaDB/MySQL. Each vendor's
database is created and migrated once per session (by a real ``migrate`` process) and
emptied before each test. A server that cannot be reached skips its tests with the reason,
except under CI=true, where that is a failure: database tests never silently stop running.

Several test runs share this machine (two Django versions at once under ``make test``, other
checkouts): nothing here may use a fixed path outside the run's own directories. The system
temp dir of the test process is a directory of this run's own (see :func:`pytest_configure`),
so that the default lock directory (``<temp>/cronjobs-<uid>``) is never another run's.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.projects import MACHINE_TMP, VENDORS, Project, Server, create_server, unavailable

_RUN_DIR = pytest.StashKey[tuple]()

#: The process tests that also run where the whole suite does not (Django 6.1 / Python 3.13 under
#: CI, ``-m smoke``): one of each kind of process the suite starts (the demo, concurrent runners,
#: fencing, SIGTERM with and without workers, tasks and what their commits wait for, async jobs,
#: the example's own tests). Each process test runs in full in one session only (noxfile.py).
SMOKE = (
    "tests/test_demo.py::test_the_demo_migrates_runs_every_job_and_then_has_nothing_due",
    "tests/test_example_tests.py::",
    "tests/engine/test_exactly_once.py::test_concurrent_runcrons_run_each_due_slot_once",
    "tests/engine/test_fencing.py::test_a_run_declared_crashed_while_it_ran_commits_nothing_and_says_so",
    "tests/engine/test_crashes.py::test_sigterm_rolls_back_records_interrupted_and_releases_the_lock",
    "tests/engine/test_crashes.py::test_sigterm_to_a_runner_with_workers_stops_every_worker_cleanly",
    "tests/engine/test_crashes.py::test_workers_run_due_jobs_in_parallel_and_each_slot_once",
    "tests/engine/test_isolation.py::",
    "tests/engine/test_async_jobs.py::test_an_async_job_runs_in_the_jobs_transaction_and_its_output_is_kept",
    "tests/tasks/test_processes.py::test_rollback_run_after_and_priority",
    "tests/tasks/test_durability.py::",
    "tests/tasks/test_processes.py::test_a_task_over_its_timeout_is_stopped_and_the_worker_goes_on",
    "tests/tasks/test_processes.py::test_loop_runs_due_jobs_and_drains_tasks_and_sigterm_puts_the_running_task_back",
)
#: Marks of tests that take long (real minutes, test hosts, many processes): they start first,
#: so that side by side (pytest-xdist) the suite does not end waiting on one of them.
LONG_FIRST = ("hosts", "slow", "long")


def _utf8(text: str) -> str:
    """``text`` with lone surrogates escaped, so that it can be encoded as UTF-8."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    """Reports that pytest-xdist can send: a test of hostile text may capture lone surrogates
    (its job's output, a log line, an assertion's message), and a worker that cannot encode its
    report as UTF-8 dies."""
    report = yield
    report.sections = [(title, _utf8(text)) for title, text in report.sections]
    if report.longrepr is not None:
        text = str(report.longrepr)
        if _utf8(text) != text:
            report.longrepr = _utf8(text)
    return report


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SMOKE):
            item.add_marker(pytest.mark.smoke)
    # A stable sort: the same order in every xdist worker, as xdist requires.
    items.sort(key=lambda item: not any(item.get_closest_marker(mark) for mark in LONG_FIRST))


def pytest_configure(config: pytest.Config) -> None:
    # pytest keeps its own tmp_path directories where they would be (and rotates them there).
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", str(MACHINE_TMP))
    run_dir = tempfile.mkdtemp(prefix="cronjobs-tests-")
    os.chmod(run_dir, 0o711)  # some tests hand a directory in it to user nobody
    config.stash[_RUN_DIR] = (tempfile.tempdir, run_dir)
    tempfile.tempdir = run_dir


def pytest_unconfigure(config: pytest.Config) -> None:
    saved = config.stash.get(_RUN_DIR, None)
    if saved is not None:
        tempfile.tempdir = saved[0]
        shutil.rmtree(saved[1], ignore_errors=True)


@pytest.fixture(autouse=True)
def _stored_schedules_read_again() -> None:
    """Each test reads the stored schedules of its own database (a row a test made and rolled
    back must not stay a job for the next one)."""
    from cronjobs import registry

    registry.refresh()


@pytest.fixture(scope="session")
def _servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    servers: dict[str, Server] = {}
    yield servers
    for server in servers.values():
        server.drop()


@pytest.fixture(params=VENDORS)
def project(
    request: pytest.FixtureRequest,
    _servers: dict[str, Server],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> Iterator[Project]:
    """A migrated, empty database on each vendor, and processes to run against it."""
    vendor = request.param
    if vendor not in _servers:
        server = create_server(vendor, tmp_path_factory.mktemp(vendor))
        result = Project(server, tmp_path).manage("migrate", "--verbosity", "0")
        if result.returncode != 0:
            server.drop()
            pytest.fail(f"migrate failed on {vendor}:\n{result.stderr}")
        _servers[vendor] = server
    server = _servers[vendor]
    server.empty()
    project = Project(server, tmp_path)
    yield project
    project.clean_up()


@pytest.fixture
def libfaketime() -> str:
    """The path of Debian's libfaketime, for runcrons processes on a fake clock."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")) + sorted(
        glob.glob("/usr/lib/faketime/libfaketime.so.1")
    )
    if not found:
        unavailable("libfaketime is not installed (scripts/system-deps.sh installs Debian's faketime as root)")
    return found[0]
