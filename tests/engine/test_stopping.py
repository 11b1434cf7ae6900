"""Stopping work in one process: deadlines and stoppers, signals held back by critical sections."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta

import pytest

from cronjobs.engine import stopping
from cronjobs.engine.stopping import Deadline, Section, Stopper, critical, handling_signals
from cronjobs.exceptions import Interrupted, JobTimeout


def deadline(seconds: float | None, stopper: Stopper) -> Deadline:
    return Deadline(None if seconds is None else timedelta(seconds=seconds), stopper, JobTimeout("too long"))


class TestDeadline:
    def test_it_stops_a_pure_python_loop_that_catches_exceptions(self):
        stopper = Stopper()
        with pytest.raises(JobTimeout), stopper, deadline(0.2, stopper):
            while True:
                try:
                    pass
                except Exception:
                    pass
        assert stopper.fired

    def test_it_stops_a_sleep(self):
        started = time.monotonic()
        stopper = Stopper()
        with pytest.raises(JobTimeout), stopper, deadline(0.2, stopper):
            time.sleep(30)
        assert time.monotonic() - started < 29

    def test_a_block_that_ends_in_time_is_not_touched(self):
        stopper = Stopper()
        with stopper, deadline(0.2, stopper):
            pass
        time.sleep(0.3)
        assert not stopper.fired

    def test_no_timeout_means_no_watchdog(self):
        stopper = Stopper()
        with stopper, deadline(None, stopper) as watchdog:
            pass
        assert watchdog._entry is None


class TestStopper:
    def test_another_thread_stops_the_block_with_the_reason_it_gives(self):
        stopper = Stopper()
        reason = JobTimeout("lost")
        with pytest.raises(JobTimeout) as raised, stopper:
            threading.Timer(0.1, stopper.stop, args=(reason,)).start()
            time.sleep(30)
        assert raised.value is reason

    def test_a_stop_after_the_block_does_nothing(self):
        stopper = Stopper()
        with stopper:
            pass
        stopper.stop(JobTimeout("late"))
        time.sleep(0.05)
        assert not stopper.fired


class TestSignals:
    def test_sigterm_raises_interrupted_at_once_outside_critical_sections(self):
        with pytest.raises(Interrupted), handling_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)

    def test_a_critical_section_finishes_and_the_signal_waits_for_the_next_safe_point(self):
        done = []
        with pytest.raises(Interrupted), handling_signals():
            with critical():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.1)
                done.append("section")
            done.append("after")  # nothing raises on its own
            assert stopping.pending()
            stopping.raise_if_pending()
        assert done == ["section", "after"]

    def test_a_section_that_begins_part_way_holds_signals_only_from_there(self):
        with pytest.raises(Interrupted), handling_signals(), Section():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        with handling_signals(), Section() as section:
            section.begin()
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        assert stopping.pending()
        with pytest.raises(Interrupted):
            stopping.raise_if_pending()

    def test_after_the_first_signal_the_next_ones_wait_so_the_clean_up_finishes(self):
        cleaned = []
        with pytest.raises(Interrupted), handling_signals():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            finally:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                cleaned.append(True)
        assert cleaned == [True]
        with pytest.raises(Interrupted):  # the second one, held back
            stopping.raise_if_pending()


class _Connection:
    def __init__(self, *, in_atomic_block: bool = False) -> None:
        self.connection = object()
        self.in_atomic_block = in_atomic_block
        self.closed = False

    def close(self) -> None:
        self.connection = None
        self.closed = True


def _code_of(module: str) -> dict:
    """A function that gets SIGTERM while "reading a reply", as if defined in ``module``."""
    namespace = {"__name__": module, "os": os, "signal": signal, "time": time}
    exec("def read_reply():\n    os.kill(os.getpid(), signal.SIGTERM)\n    time.sleep(5)\n", namespace)
    return namespace


class TestConnectionsCutShort:
    @pytest.mark.parametrize("module", ["pymysql.connections", "psycopg.waiting", "django.db.transaction"])
    def test_a_signal_raised_inside_database_code_closes_the_connections_before_the_next_write(
        self, monkeypatch, module
    ):
        free, atomic = _Connection(), _Connection(in_atomic_block=True)
        monkeypatch.setattr(stopping, "connections", {"default": free, "other": atomic})
        with pytest.raises(Interrupted), handling_signals():
            _code_of(module)["read_reply"]()
        with critical():  # the runner's next write after the stop
            assert free.closed
            assert not atomic.closed  # inside an atomic block: that block rolls it back...
        atomic.in_atomic_block = False
        with critical():
            assert atomic.closed  # ...and the next section outside it closes it
        assert not stopping._cut_short  # settled: later sections close nothing

    def test_a_signal_raised_elsewhere_keeps_the_connections(self, monkeypatch):
        free = _Connection()
        monkeypatch.setattr(stopping, "connections", {"default": free})
        with pytest.raises(Interrupted), handling_signals():
            _code_of("myapp.cron")["read_reply"]()
        stopping.settle_connections()
        assert not free.closed

    def test_a_timeout_raised_inside_database_code_closes_them_too(self, monkeypatch):
        free = _Connection()
        namespace = {"__name__": "pymysql.connections", "time": time}
        exec("def read_reply():\n    time.sleep(5)\n", namespace)
        stopper = Stopper()
        with pytest.raises(JobTimeout), stopper, deadline(0.1, stopper):  # it stops this thread's real queries
            monkeypatch.setattr(stopping, "connections", {"default": free})
            namespace["read_reply"]()
        stopping.settle_connections()
        assert free.closed


class _Signalled:
    """An object whose finalizer gets the signal: Python ignores what a ``__del__`` raises."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        if self.signum == signal.SIGALRM:
            time.sleep(0.3)  # the deadline passes in here
        else:
            os.kill(os.getpid(), self.signum)
            time.sleep(0.05)


class TestSwallowedByAFinalizer:
    def test_a_sigterm_whose_exception_a_finalizer_swallowed_is_delivered_again(self):
        started = time.monotonic()
        with pytest.raises(Interrupted), handling_signals():
            _Signalled(signal.SIGTERM)  # gone at once: its __del__ runs here
            time.sleep(60)
        assert time.monotonic() - started < 30  # the sleep was cut short, not slept out

    def test_a_timeout_whose_exception_a_finalizer_swallowed_is_delivered_again(self):
        started = time.monotonic()
        stopper = Stopper()
        with pytest.raises(JobTimeout), stopper, deadline(0.1, stopper):
            _Signalled(signal.SIGALRM)
            time.sleep(60)
        assert time.monotonic() - started < 30  # the sleep was cut short, not slept out

    def test_other_unraisable_exceptions_still_reach_the_hook_that_was_there(self, monkeypatch):
        seen = []
        monkeypatch.setattr("sys.unraisablehook", lambda unraisable: seen.append(unraisable.exc_value))

        class Broken:
            def __del__(self):
                raise ValueError("from a finalizer")

        with handling_signals():
            Broken()
        assert [str(exc) for exc in seen] == ["from a finalizer"]
        import sys

        assert sys.unraisablehook is not stopping._unraisable


def test_deadlines_share_one_watching_thread_and_fire_in_order_once():
    fired = []
    done = threading.Event()

    class Recorder:
        def __init__(self, name):
            self.name = name

        def stop(self, reason):
            fired.append(self.name)
            if len(fired) == 2:
                done.set()

    before = threading.active_count()
    late, early, cancelled = (
        Deadline(s, Recorder(n), JobTimeout(n)) for n, s in (("late", 0.3), ("early", 0.1), ("x", 0.05))
    )
    late.__enter__()
    early.__enter__()
    cancelled.__enter__()
    cancelled.__exit__(None, None, None)
    for _ in range(500):  # entering and leaving a deadline starts no thread
        with Deadline(60, Recorder("never"), JobTimeout("never")):
            pass
    assert threading.active_count() <= before + 1
    assert done.wait(5)
    time.sleep(0.1)
    assert fired == ["early", "late"]
    late.__exit__(None, None, None)  # after it fired: a no-op
    early.__exit__(None, None, None)
