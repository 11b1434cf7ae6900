"""SIGTERM and Ctrl-C as flags: runcrons stops at its own safe points, never inside a statement.

Inside :func:`handling_signals` (runcrons), SIGTERM and SIGINT only note that a stop was
asked for. The supervisor looks at the flag where stopping is safe: before it claims, between
two runs, and while it waits for its work horse (:mod:`cronjobs.engine.supervisor`), which a
signal wakes at once through :func:`wakeup_fd`. Project code never runs in this process, so no
exception is ever raised into running code: the work horse running it is killed instead, and
the server rolls its transaction back. :func:`check` raises :class:`~cronjobs.exceptions.Interrupted`
(``KeyboardInterrupt`` for SIGINT) at a safe point, to unwind the runner.

A second signal while a ``--stop-grace`` lets running work finish ends the grace at once.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from cronjobs.exceptions import Interrupted

_requested: int | None = None
_count = 0
_wakeup_read: int | None = None


def requested() -> int | None:
    """The signal that asked this process to stop, or None."""
    return _requested


def count() -> int:
    """How many stop signals have come (a second one ends a grace)."""
    return _count


def exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Interrupted(signum)


def check() -> None:
    """Raise the stop that was asked for, if any (call it where stopping is safe)."""
    if _requested is not None:
        raise exception(_requested)


def request(signum: int) -> None:
    """Ask this process to stop, as the signal ``signum`` would."""
    global _requested, _count
    _count += 1
    if _requested is None:
        _requested = signum


def reset() -> None:
    """Forget a stop (a forked process starts with its own)."""
    global _requested, _count
    _requested, _count = None, 0


def _handler(signum: int, frame: object) -> None:
    request(signum)


def wakeup_fd() -> int | None:
    """A file descriptor that becomes readable when a stop signal comes (for ``select``)."""
    return _wakeup_read


def sleep(seconds: float) -> bool:
    """Sleep up to ``seconds``; returns False at once when a stop was asked for (or comes)."""
    deadline = time.monotonic() + seconds
    while _requested is None:
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        if _wakeup_read is None:
            time.sleep(min(left, 0.1))
            continue
        readable, _, _ = select.select([_wakeup_read], [], [], left)
        if readable:
            drain_wakeups()
    return False


def drain_wakeups() -> None:
    if _wakeup_read is None:
        return
    try:
        while os.read(_wakeup_read, 512):
            pass
    except BlockingIOError:
        pass


@contextmanager
def handling_signals() -> Iterator[None]:
    """SIGTERM and SIGINT set the flag while in the block (main thread only; elsewhere, nothing)."""
    global _wakeup_read
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    previous = {signum: signal.signal(signum, _handler) for signum in (signal.SIGTERM, signal.SIGINT)}
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    reset()
    _wakeup_read = read_end
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _wakeup_read = None
        os.close(read_end)
        os.close(write_end)


@contextmanager
def in_forked_supervisor() -> Iterator[None]:
    """In a ``--workers`` process: the flags of its own, and a wakeup pipe of its own (its
    parent's would wake both); a stop that came before the fork stays asked for."""
    global _wakeup_read
    inherited = _wakeup_read
    if inherited is None:
        yield
        return
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    _wakeup_read = read_end
    try:
        yield
    finally:
        signal.set_wakeup_fd(-1)
        _wakeup_read = None
        os.close(read_end)
        os.close(write_end)


def in_child() -> None:
    """In a forked work horse: the supervisor's handlers and wakeup pipe are not its own.

    SIGTERM and SIGINT do nothing there: stopping is its supervisor's to decide (a service
    manager that signals every process of the service, a Ctrl-C that reaches the whole process
    group, must not kill the work before ``--stop-grace``); the supervisor kills it when it must.
    Handlers, not ``SIG_IGN``: the programs a job starts get the default actions back.
    """
    global _wakeup_read
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    if _wakeup_read is not None:
        _wakeup_read = None
    signal.signal(signal.SIGTERM, _nothing)
    signal.signal(signal.SIGINT, _nothing)
    reset()


def _nothing(signum: int, frame: object) -> None:
    pass
