"""Real databases and real ``manage.py`` processes for the tests that need them.

A :class:`Server` is a database created for this test session on one vendor's server; a
:class:`Project` is a test's view of it (the ``project`` fixture of ``conftest.py``).
A server that cannot be reached makes its tests skip with the reason, except under CI=true,
where that is a failure (:func:`unavailable`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANAGE = ROOT / "tests" / "manage.py"
VENDORS = ["sqlite", "postgresql", "mysql"]
PG = {
    "host": os.environ.get("CRONJOBS_TEST_PG_HOST", "127.0.0.1"),
    "port": int(os.environ.get("CRONJOBS_TEST_PG_PORT", "5432")),
    "user": os.environ.get("CRONJOBS_TEST_PG_USER", "postgres"),
}
MYSQL = {
    "host": os.environ.get("CRONJOBS_TEST_MYSQL_HOST", "127.0.0.1"),
    "port": int(os.environ.get("CRONJOBS_TEST_MYSQL_PORT", "3306")),
    "user": os.environ.get("CRONJOBS_TEST_MYSQL_USER", "root"),
    "password": "",
}
TABLE_PREFIXES = ("cronjobs_", "testapp_")
#: The machine's temp dir, shared by every run (the tests' own temp dir is this run's: see below).
MACHINE_TMP = Path(tempfile.gettempdir())


def unavailable(reason: str) -> None:
    """Skip, or fail under CI: a database test must not silently stop running there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


class Server:
    """A database created for this test session on one vendor's server."""

    def __init__(self, vendor: str, name: str, directory: Path) -> None:
        self.vendor = vendor
        self.name = name
        self.directory = directory

    # -- connections from the test process ----------------------------------------------

    def connect(self) -> Any:
        if self.vendor == "sqlite":
            conn = sqlite3.connect(self.name, timeout=30, isolation_level=None)
            return conn
        if self.vendor == "postgresql":
            import psycopg

            return psycopg.connect(dbname=self.name, autocommit=True, **PG)
        import pymysql

        return pymysql.connect(database=self.name, autocommit=True, **MYSQL)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.vendor != "sqlite":
            sql = sql.replace("?", "%s")
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(sql, params)
            rows = list(cur.fetchall()) if cur.description else []
            cur.close()
            return rows
        finally:
            conn.close()

    def tables(self) -> list[str]:
        if self.vendor == "sqlite":
            rows = self.query("SELECT name FROM sqlite_master WHERE type='table'")
        elif self.vendor == "postgresql":
            rows = self.query("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        else:
            rows = self.query("SHOW TABLES")
        return [r[0] for r in rows if r[0].startswith(TABLE_PREFIXES)]

    def empty(self) -> None:
        tables = self.tables()
        if self.vendor == "postgresql":
            self.query("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
        elif self.vendor == "mysql":
            conn = self.connect()
            try:
                cur = conn.cursor()
                cur.execute("SET FOREIGN_KEY_CHECKS=0")
                for table in tables:
                    cur.execute(f"TRUNCATE `{table}`")
                cur.execute("SET FOREIGN_KEY_CHECKS=1")
            finally:
                conn.close()
        else:
            conn = self.connect()
            try:
                conn.execute("PRAGMA foreign_keys=OFF")
                for table in tables:
                    conn.execute(f'DELETE FROM "{table}"')
            finally:
                conn.close()

    def drop(self) -> None:
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self.vendor == "mysql":
            import pymysql

            conn = pymysql.connect(autocommit=True, **MYSQL)
            try:
                conn.cursor().execute(f"DROP DATABASE IF EXISTS `{self.name}`")
            finally:
                conn.close()


def create_server(vendor: str, directory: Path) -> Server:
    name = f"cronjobs_test_{uuid.uuid4().hex[:10]}"
    if vendor == "sqlite":
        return Server(vendor, str(directory / f"{name}.sqlite3"), directory)
    try:
        if vendor == "postgresql":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=5, **PG) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        else:
            import pymysql

            conn = pymysql.connect(autocommit=True, connect_timeout=5, **MYSQL)
            try:
                conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            finally:
                conn.close()
    except Exception as exc:  # the driver's own error types differ; all mean "not reachable here"
        unavailable(f"{vendor} server not reachable: {str(exc).splitlines()[0]}")
    return Server(vendor, name, directory)


class Project:
    """A test's view of one database: start manage.py processes against it, read its tables."""

    def __init__(self, server: Server, tmp_path: Path) -> None:
        self._seeded = False
        self.server = server
        self.vendor = server.vendor
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "CRONJOBS_TEST_DB_VENDOR": server.vendor,
            "CRONJOBS_TEST_DB_NAME": server.name,
            "CRONJOBS_TEST_LOCK_DIR": str(tmp_path / "locks"),
            "CRONJOBS_TEST_CACHE_PREFIX": f"cronjobs-test-{uuid.uuid4().hex[:12]}",
            "PYTHONPATH": str(ROOT),
        }
        self.started: list[subprocess.Popen] = []

    def command(self, *args: str) -> list[str]:
        return [sys.executable, str(MANAGE), *args]

    def manage(
        self, *args: str, jobs: str = "", timeout: float = 120, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        """Run ``manage.py ARGS`` to the end."""
        return subprocess.run(
            self.command(*args), env=self._env(jobs, env), cwd=ROOT, capture_output=True, text=True, timeout=timeout
        )

    def start(
        self, *args: str, jobs: str = "", env: dict | None = None, wrap: tuple[str, ...] = ()
    ) -> subprocess.Popen:
        """Start ``manage.py ARGS`` in the background (its own process group), behind ``wrap``
        (a command that runs the rest, such as ``unshare``) if given.

        Whatever the test leaves running is killed, and every pipe closed, when the test ends.
        """
        process = subprocess.Popen(
            [*wrap, *self.command(*args)],
            env=self._env(jobs, env),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def clean_up(self) -> None:
        """Kill the process groups still running, reap them, close their pipes."""
        for process in self.started:
            if process.poll() is None:
                stop(process)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()

    def _env(self, jobs: str, extra: dict | None) -> dict:
        env = dict(self.env)
        if jobs:
            env["CRONJOBS_TEST_JOBS"] = ",".join(
                f"tests.testapp.jobs.{j}" if "." not in j else j for j in jobs.split(",")
            )
        env.update(extra or {})
        return env

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.server.query(sql, params)

    def count(self, table: str, where: str = "1=1", params: tuple = ()) -> int:
        return self.query(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)[0][0]

    def seed_job(self, code: str, minutes_ago: int, *, now: datetime | None = None) -> None:
        """Pretend the job was first seen (and last settled) ``minutes_ago`` minutes before
        ``now`` (a fake clock's moment), or before the real clock's now.

        On the real clock, the test's first seed waits, if need be, until the next minute is ten
        seconds away or more: the steps that follow see the slots they expect, not one more.
        """
        if now is None and not self._seeded:
            clear_of_the_next_minute(10)
            self._seeded = True
        self.query(
            "INSERT INTO cronjobs_job (code, first_seen, watermark, schedule_key, next_slot, paused) "
            "VALUES (?, ?, ?, '', ?, ?)",
            (code, *([self._moment(minutes_ago, now)] * 3), False),
        )

    def runs(self, code: str) -> list[tuple]:
        return self.query(
            "SELECT slot, attempt, status, message, traceback FROM cronjobs_run WHERE job_code = ? ORDER BY slot, attempt",
            (code,),
        )

    def ran(self, code: str) -> list[tuple]:
        """:meth:`runs` but those recorded missed: on a busy machine, runcrons may start after
        the next minute's slot has passed too, and records the older slot missed (catch-up)."""
        return [run for run in self.runs(code) if run[2] != "missed"]

    def _moment(self, minutes_ago: float, now: datetime | None = None) -> Any:
        """A past moment as each driver wants it for a Django DateTimeField (UTC)."""
        moment = (now or datetime.now(timezone.utc)) - timedelta(minutes=minutes_ago)
        if self.vendor == "postgresql":
            return moment
        if self.vendor == "mysql":
            return moment.replace(tzinfo=None)
        return moment.replace(tzinfo=None).isoformat(sep=" ")


#: A ``sitecustomize`` that shifts ``django.utils.timezone.now`` by CRONJOBS_TEST_CLOCK_OFFSET
#: seconds (the test hosts' fake clock; see its docstring).
CLOCK_DIR = ROOT / "tests" / "hosts" / "clock"


def clock_ahead(seconds: float) -> dict[str, str]:
    """The environment of a ``manage.py`` process whose clock runs ``seconds`` ahead of the real
    one (behind, if negative).

    cronjobs reads the wall clock through ``timezone.now()`` alone (slots, claims, leases, lock
    expiry, records), so the process sees every moment shifted, as a host whose clock is ahead
    would; monotonic time, sleeps and timeouts stay real. A process ahead by more than a lease's
    ttl judges the leases of the others at a moment past them: a lease has lapsed for it without
    the test sleeping it out. The shift is of the process's clock only, never of the database's.
    """
    return {
        "PYTHONPATH": os.pathsep.join([str(CLOCK_DIR), str(ROOT)]),
        "CRONJOBS_TEST_CLOCK_OFFSET": repr(float(seconds)),
    }


REDIS_URL = os.environ.get("CRONJOBS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    """Skip (fail under CI) when the Redis server of the cache-lock tests is not reachable."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"redis not reachable at {REDIS_URL}: {exc}")


def stop(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a process started by :meth:`Project.start` and its children."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def wait_for(predicate: Any, timeout: float = 30, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


def clear_of_the_next_minute(seconds: float) -> None:
    """Wait, if need be, until the next minute of the real clock is at least ``seconds`` away: for
    steps that expect nothing new to fall due while they run."""
    left = 60 - time.time() % 60
    if left < seconds:
        time.sleep(left + 0.1)


def server_queries(project: Project, sql: str) -> int:
    """How many sessions run ``sql`` on the test database's server now (SQLite: none)."""
    if project.vendor == "postgresql":
        return project.query(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = ? AND query = ? AND state = 'active'",
            (project.server.name, sql),
        )[0][0]
    if project.vendor == "mysql":
        return project.query(
            "SELECT COUNT(*) FROM information_schema.processlist WHERE db = ? AND info = ?", (project.server.name, sql)
        )[0][0]
    return 0
