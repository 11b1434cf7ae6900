"""The timeout of work run inline (``cronjobs.testing.run_job``, a runcrons inside a transaction).

Under runcrons, project code runs in a work horse and a timeout kills it
(:mod:`cronjobs.engine.supervisor`). Inline there is no process to kill: SIGALRM raises the
timeout's exception in the main thread, which Python delivers between two bytecodes, so a job
stuck in one long C call runs on past it. Elsewhere than in the main thread, no timeout applies.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any


@contextmanager
def deadline(timeout: timedelta | float | None, error: BaseException) -> Iterator[None]:
    """Raise ``error`` in the block once ``timeout`` has passed (main thread only)."""
    seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise error

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
