"""The leases this process holds, renewed from one background thread while it works.

Every claimed run carries ``lease_until``; the runs this process has claimed and not yet
finished, and the database and cache locks it holds, are renewed a third of their ``ttl``
before they would lapse. When the process dies the renewals stop: its runs are recorded as
crashed once their lease has passed (see :mod:`cronjobs.recovery`) and its locks expire.

The thread has its own database connections, so renewals never run inside a job's
transaction. (On SQLite a job's write transaction holds the only write lock of the file:
renewals wait for it, as every other writer does, so set ``lock_ttl`` above a job's
longest write transaction there.)
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta

from django.db import connections
from django.utils import timezone

from cronjobs.locks import Lock

logger = logging.getLogger("cronjobs")

#: The thread wakes at least this often (seconds) to look for due renewals.
MAX_TICK = 5.0
#: How long a renewal waits for SQLite's write lock (milliseconds) before it tries next beat.
SQLITE_WAIT_MS = 200


class Heartbeat:
    """Runs and locks of this process with the ``ttl`` of their lease."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._mutex = threading.Lock()
        self._runs: dict[int, tuple[timedelta, float]] = {}
        self._locks: dict[int, tuple[Lock, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what is held ------------------------------------------------------------------

    def add_run(self, run_id: int, ttl: timedelta) -> None:
        with self._mutex:
            self._runs[run_id] = (ttl, time.monotonic())
        self._start()

    def remove_run(self, run_id: int | None) -> None:
        with self._mutex:
            self._runs.pop(run_id or 0, None)

    def add_lock(self, lock: Lock) -> None:
        with self._mutex:
            self._locks[id(lock)] = (lock, time.monotonic())
        self._start()

    def remove_lock(self, lock: Lock) -> None:
        with self._mutex:
            self._locks.pop(id(lock), None)

    def runs(self) -> list[int]:
        """Runs claimed by this process and not finished yet."""
        with self._mutex:
            return list(self._runs)

    # -- the thread --------------------------------------------------------------------

    def _start(self) -> None:
        with self._mutex:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()  # each thread its own: a stopping one may still be busy
            self._thread = threading.Thread(
                target=self._loop, args=(self._stop,), name="cronjobs-heartbeat", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop renewing (the runner is done); waits briefly for a renewal in progress."""
        with self._mutex:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(timeout)

    def _loop(self, stop: threading.Event) -> None:
        try:
            while not stop.wait(self._tick()):
                self.beat()
        finally:
            connections.close_all()  # this thread's own connections

    def _tick(self) -> float:
        with self._mutex:
            ttls = [ttl for ttl, _ in self._runs.values()] + [lock.ttl for lock, _ in self._locks.values()]
        return min([MAX_TICK] + [max(0.05, ttl.total_seconds() / 6) for ttl in ttls])

    def beat(self) -> None:
        """Renew whatever has used up a third of its lease."""
        from cronjobs.models import Run

        now = time.monotonic()
        with self._mutex:
            runs = {rid: ttl for rid, (ttl, last) in self._runs.items() if now - last >= ttl.total_seconds() / 3}
            locks = [lock for lock, last in self._locks.values() if now - last >= lock.ttl.total_seconds() / 3]
        # Locks first: they keep other processes out; run leases may wait behind a job's
        # transaction on SQLite.
        for lock in locks:
            try:
                kept = lock.renew()
            except Exception:
                logger.warning("could not renew lock %r", lock.name, exc_info=True)
                continue
            with self._mutex:
                if not kept:
                    logger.error("lock %r was lost: its lease expired before it could be renewed", lock.name)
                    self._locks.pop(id(lock), None)
                elif id(lock) in self._locks:
                    self._locks[id(lock)] = (lock, now)
        by_ttl: dict[timedelta, list[int]] = {}
        for run_id, ttl in runs.items():
            by_ttl.setdefault(ttl, []).append(run_id)
        if by_ttl:
            _wait_briefly_on_sqlite(Run.objects.db)
        for ttl, ids in by_ttl.items():
            try:
                Run.objects.filter(pk__in=ids, status=Run.Status.RUNNING).update(lease_until=timezone.now() + ttl)
            except Exception:
                logger.info("could not renew the lease of run(s) %s now; trying again", ids, exc_info=True)
                continue
            with self._mutex:
                for run_id in ids:
                    if run_id in self._runs:
                        self._runs[run_id] = (ttl, now)


def _wait_briefly_on_sqlite(alias: str) -> None:
    """On SQLite, the heartbeat's writes give up after a moment instead of the busy timeout.

    A job's write transaction holds the file's only write lock; a renewal stuck behind it for
    the whole busy timeout would hold up the lock renewals of the next beats.
    """
    connection = connections[alias]
    if connection.vendor != "sqlite":
        return
    connection.ensure_connection()
    if getattr(connection, "_cronjobs_brief", None) != id(connection.connection):
        connection.connection.execute(f"PRAGMA busy_timeout = {SQLITE_WAIT_MS}")
        connection._cronjobs_brief = id(connection.connection)  # type: ignore[attr-defined]


_heartbeat: Heartbeat | None = None


def get() -> Heartbeat:
    """This process's heartbeat (a forked worker gets a new one)."""
    global _heartbeat
    if _heartbeat is None or _heartbeat.pid != os.getpid():
        _heartbeat = Heartbeat()
    return _heartbeat
