"""Stopping running work (timeouts, lost leases, SIGTERM), and the sections nothing may stop.

**Stopping a job or a task.** A :class:`Stopper` stops the work running in its thread: it
interrupts any query that thread has running (PostgreSQL: a cancel request; MySQL/MariaDB:
``KILL QUERY`` from a new connection; SQLite: ``interrupt()``) and sends SIGALRM to it, whose
handler raises the reason given (:class:`~cronjobs.exceptions.JobTimeout`, a lost lease...):
a ``BaseException`` that stops pure-Python loops, ``time.sleep()`` and other blocking calls,
that ``except Exception`` cannot swallow, and that unwinds through ``transaction.atomic()``,
rolling the work back. A :class:`Deadline` fires a stopper when a timeout passes; the heartbeat
fires it when a lease is lost. Signals only reach the main thread: work run from another
thread gets its queries interrupted but not its Python code.

**Signals.** Inside :func:`handling_signals` (runcrons), SIGTERM raises
:class:`~cronjobs.exceptions.Interrupted` and SIGINT ``KeyboardInterrupt`` in the main thread,
and a query running in a job's own code is interrupted too (a Python handler only runs once
the driver returns). Inside a :func:`critical` section (recording an outcome, committing a job
with its record, a claim) a signal is held back and the section finishes; the runner stops at
its next :func:`raise_if_pending`. After the first signal has been raised, later ones are held
back too, so that the clean-up it starts cannot be interrupted halfway.

**Connections a signal cut short.** PyMySQL and psycopg read the server's replies in Python code,
where a signal handler runs: raised there, its exception leaves a reply unread, and the next
statement on that connection would read it as its own (and with MySQL the server may already
have turned autocommit off: whatever that connection writes next is silently rolled back). A
handler that raises inside database code marks this thread's connections; the next critical
section (every write of the runner's after a stop is in one) begins by closing them
(:func:`settle_connections`; the server rolls back what they had open), so its records go through
new connections.

**Exceptions a finalizer swallowed.** A handler that runs inside a ``__del__`` (Django 6.1 gives
every model instance's state one) or a weakref callback raises into code whose exceptions Python
ignores ("Exception ignored in ..."): the stop would be lost. While signals are handled here, such
an exception of ours is delivered again: the signal is sent anew a moment later.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType
from typing import Any

from django.db import connections

from cronjobs.exceptions import Interrupted

logger = logging.getLogger("cronjobs")


# -- stopping the work of one thread -------------------------------------------------------


class Stopper:
    """``with Stopper() as stopper:`` the block can be stopped from any thread by ``stopper.stop(reason)``."""

    def __init__(self) -> None:
        self.reason: BaseException | None = None
        self._active = False
        self._mutex = threading.Lock()
        self._previous: Any = None
        self._signals = False
        self._thread_id = 0
        self._wrappers: list[Any] = []

    @property
    def fired(self) -> bool:
        return self.reason is not None

    def __enter__(self) -> Stopper:
        self._thread_id = threading.get_ident()
        self._wrappers = [connections[alias] for alias in connections]  # this thread's connections
        self._signals = threading.current_thread() is threading.main_thread()
        if self._signals:
            self._previous = signal.signal(signal.SIGALRM, self._handler)
            _hook_unraisable()
        with self._mutex:
            self._active = True
        return self

    def __exit__(self, *exc: object) -> None:
        with self._mutex:
            self._active = False
        if self._signals:
            signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)
            _unhook_unraisable()
            _forget(self.reason)

    def stop(self, reason: BaseException) -> None:
        """Stop the block with ``reason`` raised in it (once; later calls do nothing)."""
        with self._mutex:
            if not self._active or self.reason is not None:
                return
            self.reason = reason
            for wrapper in self._wrappers:
                _interrupt_query(wrapper)
            if self._signals:
                signal.pthread_kill(self._thread_id, signal.SIGALRM)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self._active and self.reason is not None:
            _mark_if_in_database_code(frame)
            raise _raising(self.reason, self._alarm_again)

    def _alarm_again(self) -> None:
        """The stop was swallowed by a finalizer: signal this block again, if it still runs."""

        def alarm() -> None:
            with self._mutex:
                if self._active:
                    signal.pthread_kill(self._thread_id, signal.SIGALRM)

        threading.Timer(REDELIVERY_DELAY, alarm).start()


class Deadline:
    """``with Deadline(timeout, stopper, reason):`` stops the block with ``reason`` past ``timeout``.

    Every deadline of the process is watched by one thread (:class:`_Watchdog`): entering and
    leaving a deadline costs a lock and a heap operation, not a thread of its own (which cost
    about a quarter of a millisecond per task or job). A deadline that passes fires its stopper
    from a short thread of its own, so a slow stop (cancelling a query on the server) does not
    hold up the others.
    """

    def __init__(self, timeout: timedelta | float | None, stopper: Stopper, reason: BaseException) -> None:
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        self.seconds = seconds
        self.stopper = stopper
        self.reason = reason
        self._entry: _Entry | None = None

    def __enter__(self) -> Deadline:
        if self.seconds is not None:
            self._entry = _watchdog.add(self.seconds, self.stopper.stop, self.reason)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._entry is not None:
            _watchdog.cancel(self._entry)
            self._entry = None


class _Entry:
    __slots__ = ("args", "callback", "done")

    def __init__(self, callback: Any, *args: Any) -> None:
        self.callback = callback
        self.args = args
        self.done = False
        """Cancelled or fired."""


class _Watchdog:
    """One daemon thread firing the deadlines of the process in order (started on first use,
    started afresh in a forked child)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._wake = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Entry]] = []
        self._count = itertools.count()
        self._cancelled = 0
        self._thread: threading.Thread | None = None

    def add(self, seconds: float, callback: Any, *args: Any) -> _Entry:
        entry = _Entry(callback, *args)
        due = time.monotonic() + seconds
        with self._wake:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="cronjobs-deadlines", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (due, next(self._count), entry))
            if self._heap[0][2] is entry:
                self._wake.notify()
        return entry

    def cancel(self, entry: _Entry) -> None:
        with self._wake:
            if entry.done:
                return
            entry.done = True
            self._cancelled += 1
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):  # drop the cancelled ones
                self._heap = [item for item in self._heap if not item[2].done]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def _watch(self) -> None:
        while True:
            fired = []
            with self._wake:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                    self._cancelled = max(0, self._cancelled - 1)
                if not self._heap:
                    self._wake.wait()
                    continue
                due, _, entry = self._heap[0]
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
                entry.done = True
                fired.append(entry)
            for entry in fired:
                threading.Thread(target=entry.callback, args=entry.args, daemon=True).start()


_watchdog = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog._reset)


# -- signals --------------------------------------------------------------------------------

_critical = 0
_pending: int | None = None
_raised = False
_cut_short = False  # a handler raised inside database code: see settle_connections()

#: Modules whose code a signal's exception must not interrupt halfway through a conversation with
#: the server (Django's own database layer included: its state may then disagree with the server's).
_DATABASE_CODE = ("django.db.", "pymysql.", "MySQLdb.", "psycopg.", "psycopg2.", "psycopg_pool.")


def _exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Interrupted(signum)


def _handler(signum: int, frame: FrameType | None) -> None:
    global _pending, _raised
    if _critical or _raised:
        _pending = _pending or signum
        return
    _raised = True
    _mark_if_in_database_code(frame)
    raise _raising(_exception(signum), lambda: _signal_again(signum))


def _signal_again(signum: int) -> None:
    """The exception of ``signum`` was swallowed by a finalizer: the process gets the signal anew."""
    global _raised
    _raised = False
    threading.Timer(REDELIVERY_DELAY, os.kill, (os.getpid(), signum)).start()


#: How long after a swallowed stop it is delivered again (out of the finalizer by then).
REDELIVERY_DELAY = 0.01
_raised_last: tuple[BaseException, Callable[[], None]] | None = None
_hooks = 0
_previous_hook: Any = None


def _raising(exc: BaseException, again: Callable[[], None]) -> BaseException:
    """``exc``, remembered with how to deliver it again should a finalizer swallow it."""
    global _raised_last
    _raised_last = (exc, again)
    return exc


def _forget(exc: BaseException | None) -> None:
    """``exc`` can no longer be swallowed unseen: drop it (and the frames of its traceback)."""
    global _raised_last
    if _raised_last is not None and _raised_last[0] is exc:
        _raised_last = None


def _unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook`` while signals are handled: our stop swallowed by a finalizer is
    delivered again (see the module's doc); anything else goes to the hook that was there."""
    global _raised_last
    if _raised_last is not None and unraisable.exc_value is _raised_last[0]:
        again, _raised_last = _raised_last[1], None
        logger.debug("%r was raised in a finalizer, which ignored it: delivering it again", unraisable.exc_value)
        again()
        return
    (_previous_hook or sys.__unraisablehook__)(unraisable)


def _hook_unraisable() -> None:
    global _hooks, _previous_hook
    if _hooks == 0:
        _previous_hook, sys.unraisablehook = sys.unraisablehook, _unraisable
    _hooks += 1


def _unhook_unraisable() -> None:
    global _hooks, _previous_hook, _raised_last
    _hooks -= 1
    if _hooks == 0:
        if sys.unraisablehook is _unraisable:
            sys.unraisablehook = _previous_hook
        _previous_hook = _raised_last = None


def _mark_if_in_database_code(frame: FrameType | None) -> None:
    global _cut_short
    while frame is not None and not _cut_short:
        _cut_short = frame.f_globals.get("__name__", "").startswith(_DATABASE_CODE)
        frame = frame.f_back


def settle_connections() -> None:
    """After a signal's exception raised inside database code (see the module's doc): close this
    thread's connections, which may be halfway through a reply, so that the next statement opens a
    new one. Every critical section begins with it: whatever the runner writes after a stop goes
    through one. A connection inside an atomic block is left to that block (and closed at the next
    section outside it)."""
    global _cut_short
    if not _cut_short or threading.current_thread() is not threading.main_thread():
        return
    _cut_short = False
    for alias in connections:
        connection = connections[alias]
        if connection.connection is None:
            continue
        if connection.in_atomic_block:
            _cut_short = True
        else:
            logger.debug("closing connection %r: a signal interrupted it mid-reply", alias)
            connection.close()


def raise_if_pending() -> None:
    """Raise what a signal held back by a critical section would have raised (a safe point)."""
    global _pending, _raised
    if _pending is not None and not _critical:
        signum, _pending = _pending, None
        _raised = True
        raise _exception(signum)


def pending() -> bool:
    return _pending is not None


class Section:
    """A critical section that may begin part-way through a block: ``section.begin()``.

    From ``begin()`` to the end of the block, SIGTERM and SIGINT wait (see the module's doc).
    """

    def __init__(self) -> None:
        self._entered = False

    def __enter__(self) -> Section:
        return self

    def begin(self) -> None:
        global _critical
        if not self._entered and threading.current_thread() is threading.main_thread():
            settle_connections()  # what the section writes goes through a sound connection
            _critical += 1
            self._entered = True

    def __exit__(self, *exc: object) -> None:
        global _critical
        if self._entered:
            _critical -= 1
            self._entered = False


@contextmanager
def critical() -> Iterator[None]:
    """SIGTERM and SIGINT wait until the block is done (keep it short: it cannot be stopped)."""
    with Section() as section:
        section.begin()
        yield


def reset_after_fork() -> None:
    """In a forked child, once it is ready to stop cleanly: it leaves the critical section its
    parent forked it in; a signal held back since then stays pending (:func:`raise_if_pending`)."""
    global _critical, _raised
    _critical, _raised = 0, False


@contextmanager
def handling_signals() -> Iterator[None]:
    """SIGTERM raises :class:`Interrupted` and SIGINT ``KeyboardInterrupt`` in the main thread
    while in the block (held back in critical sections), and stops a job's running query."""
    global _raised, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _handler) for signum in (signal.SIGTERM, signal.SIGINT)}
    _raised, _pending = False, None
    _hook_unraisable()
    try:
        with queries_stopped_on(signal.SIGTERM, signal.SIGINT):
            yield
    finally:
        _unhook_unraisable()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


_window = threading.Lock()
_in_job = False


@contextmanager
def job_running() -> Iterator[None]:
    """Marks the block where a job's or task's own code runs: only there may a signal interrupt a query.

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
    """While in the block, these signals also stop the running query of a job in this (main) thread.

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
                    if _in_job and not _critical:
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


# -- interrupting a query -------------------------------------------------------------------


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
        logger.warning("could not interrupt the query of stopped work on %r", wrapper.alias, exc_info=True)


def _kill_mysql_query(wrapper: Any, thread_id: int) -> None:
    killer = wrapper.Database.connect(**wrapper.get_connection_params())
    try:
        cursor = killer.cursor()
        cursor.execute(f"KILL QUERY {int(thread_id)}")
    finally:
        killer.close()
