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
