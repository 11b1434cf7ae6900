"""End to end with Debian's real cron daemon: installcrons, cron runs runcrons, the job is recorded.

The first test is the one slow test of the suite (up to about 78 s: it waits for cron's next minute). It
installs the example project's entry into the real crontab of the user running the tests,
under an id of its own, starts the daemon when none runs (and stops only what it started),
and removes the entry afterwards, leaving the crontab as it found it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cronjobs.install import targets
from tests.conftest import unavailable

ROOT = Path(__file__).resolve().parent.parent
MARGIN = 15  # seconds after the minute boundary for cron to start runcrons and the job to finish


def crontab_state() -> tuple[int, str]:
    result = subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout


@pytest.fixture
def cron_daemon(tmp_path: Path) -> Iterator[subprocess.Popen | None]:
    """A running cron daemon: the one already running, or one started here (and stopped after)."""
    cron = shutil.which("cron") or ("/usr/sbin/cron" if Path("/usr/sbin/cron").exists() else None)
    if shutil.which("crontab") is None or cron is None:
        unavailable("Debian's cron is not installed (scripts/system-deps.sh installs it as root)")
    if targets.cron_daemon_running():
        yield None
        return
    if not Path("/proc").is_dir() or os.getuid() != 0:
        unavailable("no cron daemon is running, and only root can start one")
    log = tmp_path / "cron.out"
    with log.open("w") as out:
        daemon = subprocess.Popen([str(cron), "-f"], stdout=out, stderr=subprocess.STDOUT)
    time.sleep(1)
    if daemon.poll() is not None:
        output = log.read_text()
        if targets.cron_daemon_running():  # another one started meanwhile (cron -f refuses a second)
            yield None
            return
        pytest.fail(f"cron -f exited with {daemon.returncode}: {output}")
    yield daemon
    daemon.terminate()
    try:
        daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


def manage(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_real_cron_daemon_runs_the_example_job_and_remove_restores_the_crontab(
    tmp_path: Path, cron_daemon: subprocess.Popen | None
) -> None:
    # A directory name with a space and a % proves the quoting with the real cron and sh.
    project = tmp_path / "example project 100%"
    shutil.copytree(
        ROOT / "example", project, ignore=shutil.ignore_patterns("db.sqlite3*", "__pycache__", "cronjobs.log")
    )
    for args in (("migrate", "--verbosity", "0"), ("runcrons",)):  # runcrons: the jobs are first seen now
        result = manage(project, *args)
        assert result.returncode == 0, result.stderr
    before = crontab_state()
    install_id = f"cronjobs-test-{uuid.uuid4().hex[:8]}"
    installed = manage(project, "installcrons", "--id", install_id)
    try:
        assert installed.returncode == 0, installed.stderr
        assert f"# cronjobs:{install_id}" in crontab_state()[1]
        # The first minute boundary cron will surely see the new entry at (not one second away).
        now = time.time()
        boundary = (now // 60 + 1) * 60
        if boundary - now < 3:
            boundary += 60
        deadline = boundary + MARGIN
        slot = datetime.fromtimestamp(boundary, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        runs: list[tuple] = []
        while time.time() < deadline:
            runs = _heartbeat_runs(project / "db.sqlite3")
            if any(status == "succeeded" and run_slot >= slot for status, run_slot in runs):
                break
            time.sleep(1)
        log = project / "cronjobs.log"
        assert any(status == "succeeded" and run_slot >= slot for status, run_slot in runs), (
            f"no succeeded run of shop.heartbeat by {slot} + {MARGIN}s; runs: {runs}; "
            f"cronjobs.log: {log.read_text() if log.exists() else '(none)'}"
        )
    finally:
        removed = manage(project, "installcrons", "--id", install_id, "--remove")
    assert removed.returncode == 0, removed.stderr
    assert crontab_state() == before


def _heartbeat_runs(database: Path) -> list[tuple]:
    conn = sqlite3.connect(database, timeout=10)
    try:
        return conn.execute("SELECT status, slot FROM cronjobs_run WHERE job_code = 'shop.heartbeat'").fetchall()
    finally:
        conn.close()


def test_the_real_crontab_program_keeps_foreign_lines_byte_for_byte(tmp_path: Path) -> None:
    """Through Debian's own `crontab -u nobody` (as root), restoring nobody's crontab after."""
    if shutil.which("crontab") is None:
        unavailable("Debian's cron is not installed (scripts/system-deps.sh installs it as root)")
    if os.getuid() != 0:
        pytest.skip("needs root to write the crontab of another user")
    foreign = 'MAILTO=""\n# nightly\n0  5 * * 1-5   /usr/bin/true --all   # backup\n*/10 * * * * date +\\%s\n'
    saved = subprocess.run(["crontab", "-u", "nobody", "-l"], capture_output=True, text=True)
    (tmp_path / "foreign").write_text(foreign)
    subprocess.run(["crontab", "-u", "nobody", str(tmp_path / "foreign")], check=True)
    logs = Path(tempfile.mkdtemp(prefix="cronjobs-test-"))  # the log file must be writable by nobody
    logs.chmod(0o777)
    try:
        listings = []
        for args in (("--log-file", str(logs / "cron.log")), ("--remove",)):
            result = manage(ROOT / "example", "installcrons", "--user", "nobody", *args)
            assert result.returncode == 0, result.stderr
            listings.append(subprocess.run(["crontab", "-u", "nobody", "-l"], capture_output=True, text=True).stdout)
        installed, removed = listings
        assert installed.startswith(foreign)
        assert installed[len(foreign) :].endswith(" # cronjobs:demo.settings\n")
        assert removed == foreign
    finally:
        shutil.rmtree(logs)
        if saved.returncode == 0:
            (tmp_path / "saved").write_text(saved.stdout)
            subprocess.run(["crontab", "-u", "nobody", str(tmp_path / "saved")], check=True)
        else:
            subprocess.run(["crontab", "-u", "nobody", "-r"], capture_output=True)
