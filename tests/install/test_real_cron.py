"""End to end with Debian's real cron daemon: installcrons, cron runs runcrons, the job is recorded.

The first test waits for cron's next minute (about a minute; on a busy machine, as long as cron and
runcrons take to start: it waits for the run, not for a number of seconds). It installs the example project's entry into the real crontab of the user running the tests,
under an id of its own, starts the daemon when none runs, and removes the entry afterwards,
leaving the crontab as it found it.

Other test runs may share this machine (two Django versions at once under ``make test``, other
checkouts), and there is one crontab per user and one cron daemon: installcrons serialises its
own writes to the crontab; the entries of other runs (``# cronjobs:cronjobs-test-<hex>``) may
come and go meanwhile and are left out of the comparison; a daemon started here is stopped by
the last run that needs it (:func:`cron_daemon`); user nobody's crontab is one run's at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
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
from tests.support.projects import MACHINE_TMP, unavailable

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]
#: How long after the minute boundary the test waits for the run cron starts there, at most: cron
#: and runcrons start when the machine lets them, and the run's slot says which minute it was.
PATIENCE = 240
#: Where the test runs on this machine meet: locks and the pid of a cron daemon started by tests.
SHARED = MACHINE_TMP / f"cronjobs-tests-shared-{os.getuid()}"
#: The crontab entry of a run of the first test (ours, or another run's).
TEST_ENTRY = re.compile(r" # cronjobs:cronjobs-test-[0-9a-f]+$")


def crontab_state() -> tuple[int, str]:
    result = subprocess.run(["crontab", "-l"], capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout


def without_test_entries(state: tuple[int, str]) -> str:
    """The crontab without the entries of runs of the first test (other runs' come and go)."""
    returncode, text = state
    if returncode != 0:
        return ""  # no crontab
    return "".join(line for line in text.splitlines(keepends=True) if not TEST_ENTRY.search(line.rstrip("\n")))


@contextlib.contextmanager
def flocked(name: str, mode: int = fcntl.LOCK_EX) -> Iterator[int]:
    """A flock on ``SHARED/name`` (waits for it)."""
    SHARED.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(SHARED / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)


def _is_cron(pid: int) -> bool:
    """Whether ``pid`` is a live cron daemon (not a zombie, not a reused pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()[0]
    return name == "cron" and state not in ("Z", "X")


@pytest.fixture
def cron_daemon(tmp_path: Path) -> Iterator[None]:
    """A running cron daemon: the one already running, or one started here.

    A daemon that test runs start is recorded in ``SHARED/cron.pid`` and stopped by the last run
    that uses it: each user holds a shared flock on ``SHARED/cron.users``, and ``SHARED/cron.lock``
    serialises starting, joining and leaving. A daemon no test run started is never stopped.
    """
    cron = shutil.which("cron") or ("/usr/sbin/cron" if Path("/usr/sbin/cron").exists() else None)
    if shutil.which("crontab") is None or cron is None:
        unavailable("Debian's cron is not installed (scripts/system-deps.sh installs it as root)")
    pid_file = SHARED / "cron.pid"
    with flocked("cron.lock"):
        if not targets.cron_daemon_running():
            if not Path("/proc").is_dir() or os.getuid() != 0:
                unavailable("no cron daemon is running, and only root can start one")
            log = tmp_path / "cron.out"
            # Not a child of this process (sh exits at once): it may outlive this run, and
            # whichever run stops it must not leave a zombie behind in another.
            started = subprocess.run(
                ["sh", "-c", 'exec 0</dev/null; "$1" -f >"$2" 2>&1 & echo $!', "sh", cron, str(log)],
                capture_output=True,
                text=True,
                check=True,
            )
            pid = int(started.stdout)
            time.sleep(1)
            if not _is_cron(pid):
                pytest.fail(f"cron -f exited: {log.read_text()}")
            pid_file.write_text(str(pid))
        users = os.open(SHARED / "cron.users", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(users, fcntl.LOCK_SH)
    try:
        yield
    finally:
        with flocked("cron.lock"):
            os.close(users)  # this run no longer needs the daemon
            _stop_the_started_daemon_unless_used(pid_file)


def _stop_the_started_daemon_unless_used(pid_file: Path) -> None:
    """Stop the daemon a test run started, unless another run still holds ``cron.users``."""
    fd = os.open(SHARED / "cron.users", os.O_RDWR | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another run still waits for cron: the last one stops it
        pid = int(pid_file.read_text() or 0) if pid_file.exists() else 0
        if pid and _is_cron(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _is_cron(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _is_cron(pid):
                os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
    finally:
        os.close(fd)


def manage(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.long
def test_the_real_cron_daemon_runs_the_example_job_and_remove_restores_the_crontab(
    tmp_path: Path, cron_daemon: None
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
        deadline = boundary + PATIENCE
        slot = datetime.fromtimestamp(boundary, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        runs: list[tuple] = []
        while time.time() < deadline:
            runs = _heartbeat_runs(project / "db.sqlite3")
            if any(status == "succeeded" and run_slot >= slot for status, run_slot in runs):
                break
            time.sleep(1)
        log = project / "cronjobs.log"
        assert any(status == "succeeded" and run_slot >= slot for status, run_slot in runs), (
            f"no succeeded run of shop.heartbeat of slot {slot} or later after {PATIENCE}s; runs: {runs}; "
            f"cronjobs.log: {log.read_text() if log.exists() else '(none)'}"
        )
    finally:
        removed = manage(project, "installcrons", "--id", install_id, "--remove")
    assert removed.returncode == 0, removed.stderr
    after = crontab_state()
    assert f"# cronjobs:{install_id}" not in after[1]
    assert without_test_entries(after) == without_test_entries(before)


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
    with flocked("crontab-nobody.lock"):  # one run at a time: the test writes all of nobody's crontab
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
                listings.append(
                    subprocess.run(["crontab", "-u", "nobody", "-l"], capture_output=True, text=True).stdout
                )
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
