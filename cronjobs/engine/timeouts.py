"""Stopping a job at its ``timeout``, whatever it is doing.

A watchdog thread waits for the deadline. Then it interrupts any query the job's thread has
running (PostgreSQL: a cancel request; MySQL/MariaDB: ``KILL QUERY`` from a new connection;
SQLite: ``interrupt()``) and sends SIGALRM to that thread, whose handler raises
:class:`~cronjobs.exceptions.JobTimeout`: a ``BaseException`` that stops pure-Python loops,
``time.sleep()`` and other blocking calls, and that ``except Exception`` in a job cannot
swallow. It unwinds through ``transaction.atomic()``, which rolls the job's writes back.

Signals only reach the main thread: a job run from another thread gets its queries
interrupted but not its Python code.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType
from typing import Any

from django.db import connections

from cronjobs.exceptions import JobTimeout

logger = logging.getLogger("cronjobs")


class Deadline:
    """``with Deadline(timeout):`` raises :class:`JobTimeout` in the block past ``timeout``."""

    def __init__(self, timeout: timedelta | None) -> None:
        self.timeout = timeout
        self.fired = False
        self._active = False
        self._mutex = threading.Lock()
        self._timer: threading.Timer | None = None
        self._previous: Any = None
        self._signals = False

    def __enter__(self) -> Deadline:
        if self.timeout is None:
            return self
        self._thread_id = threading.get_ident()
        self._wrappers = [connections[alias] for alias in connections]
        self._signals = threading.current_thread() is threading.main_thread()
        if self._signals:
            self._previous = signal.signal(signal.SIGALRM, self._handler)
        self._active = True
        self._timer = threading.Timer(self.timeout.total_seconds(), self._fire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.timeout is None:
            return
        with self._mutex:
            self._active = False
        assert self._timer is not None
        self._timer.cancel()
        if self._signals:
            signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self._active:
            raise JobTimeout(f"stopped after {self.timeout}")

    def _fire(self) -> None:
        with self._mutex:
            if not self._active:
                return
            self.fired = True
            for wrapper in self._wrappers:
                _interrupt_query(wrapper)
            if self._signals:
                signal.pthread_kill(self._thread_id, signal.SIGALRM)


_window = threading.Lock()
_in_job = False


@contextmanager
def job_running() -> Iterator[None]:
    """Marks the block where a job's own code runs: only there may a signal interrupt a query.

    Outside it the main thread is recording runs or rolling back; a signal then waits for the
    Python handler, which runs as soon as that short statement returns.
    """
    global _in_job
    with _window:
        _in_job = True
    try:
        yield
    finally:
        with _window:
            _in_job = False


@contextmanager
def queries_stopped_on(*signums: int) -> Iterator[None]:
    """While in the block, these signals also stop the running query of this (main) thread.

    A Python signal handler only runs when the interpreter gets control back, which a query
    running in the database driver's C code (a long SQLite statement, a PostgreSQL query)
    may not give it for minutes. The C-level handler still writes the signal's number to the
    wakeup fd; a thread reading it interrupts the query, the query returns with an error and
    the Python handler runs. On the server the query is cancelled too, instead of running on
    after the client has gone. Needs the main thread; elsewhere it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wrappers = [connections[alias] for alias in connections]
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    except ValueError:
        os.close(read_end)
        os.close(write_end)
        yield
        return

    def watch() -> None:
        while data := os.read(read_end, 64):
            if any(signum in data for signum in signums):
                with _window:  # only a job's own query: never the runner's rollback or record
                    if _in_job:
                        for wrapper in wrappers:
                            _interrupt_query(wrapper)
        os.close(read_end)

    watcher = threading.Thread(target=watch, name="cronjobs-signal-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        os.close(write_end)  # ends the watcher
        watcher.join(1)


def _interrupt_query(wrapper: Any) -> None:
    """Stop the query running on another thread's connection, if any."""
    raw = wrapper.connection
    if raw is None:
        return
    try:
        if wrapper.vendor == "sqlite":
            raw.interrupt()
        elif wrapper.vendor == "postgresql":
            info = getattr(raw, "info", None)  # psycopg 3: cancel only a query in progress
            if info is not None and info.transaction_status != 1:  # TransactionStatus.ACTIVE
                return
            cancel = getattr(raw, "cancel_safe", None) or raw.cancel
            cancel()
        elif wrapper.vendor == "mysql":
            _kill_mysql_query(wrapper, raw.thread_id())
    except Exception:
        logger.warning("could not interrupt the query of a timed-out job on %r", wrapper.alias, exc_info=True)


def _kill_mysql_query(wrapper: Any, thread_id: int) -> None:
    killer = wrapper.Database.connect(**wrapper.get_connection_params())
    try:
        cursor = killer.cursor()
        cursor.execute(f"KILL QUERY {int(thread_id)}")
    finally:
        killer.close()
