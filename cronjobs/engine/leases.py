"""Leases, from claim to crash: renewed while this process works, judged when another stops.

**Renewing.** Every claimed run carries ``lease_until``; the runs this process has claimed and
not finished, and the database and cache locks it holds, are renewed a third of their ``ttl``
before they would lapse, by the supervisor's main thread while it waits for its work horse
(:meth:`Heartbeat.pump`): project code runs in another process, so a job busy in C code cannot
starve the renewals. A run executed inline (tests) is not renewed while it runs. (On SQLite a
job's write transaction holds the only write lock of the file: renewals wait for it, as every
other writer does, so set ``lock_ttl`` above a job's longest write transaction there.)

**Losing.** A renewal that finds the run no longer this process's (another process declared it
crashed: this one was frozen or cut off past its lease), or the lock taken, marks it lost: the
supervisor then kills the work horse running it, and the server rolls its transaction back.
That is judged by the record: a run recorded already, or a lock released, while the run
finishes (its notices, its monitors), is not lost, and no longer renewed. Even without the
heartbeat, the conditional record at the end of the job's transaction (the fence) keeps a run
that is no longer ours from committing.

**Judging.** A process that dies (SIGKILL, OOM, power loss) stops renewing. :func:`recover`
records its runs as crashed: when the lease has passed, whatever host they ran on; at once
when the process is visibly gone (same host, boot and PID namespace, no such pid; see
:mod:`cronjobs.identity`). Only the run itself is looked at, never the job's lock, so runs
with ``overlap = "allow"`` are judged one by one. A crashed run with retries left becomes due
again after ``retry_delay``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import connections, router

from cronjobs import registry, signals
from cronjobs.engine import retrying
from cronjobs.engine.outcomes import Outcome
from cronjobs.locks import Lock
from cronjobs.models import Job, Run

logger = logging.getLogger("cronjobs")

#: The thread wakes at least this often (seconds) to look for due renewals.
MAX_TICK = 5.0
#: How long a renewal waits for SQLite's write lock (milliseconds) before it tries next beat.
SQLITE_WAIT_MS = 200


class _Held:
    """One lease this process holds: when it was last renewed, and what to stop if it is lost."""

    __slots__ = ("renewed", "run_id", "token", "ttl")

    def __init__(self, ttl: timedelta, token: str = "") -> None:
        self.ttl = ttl
        self.token = token
        self.renewed = time.monotonic()
        self.run_id: int | None = None

    def due(self, now: float) -> bool:
        return now - self.renewed >= self.ttl.total_seconds() / 3


class Heartbeat:
    """The runs and locks of this process, renewed by :meth:`pump` while it waits."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._runs: dict[int, _Held] = {}
        self._locks: dict[int, tuple[Lock, _Held]] = {}
        self._lost: set[int] = set()
        self._lost_locks: set[int] = set()
        self._next = 0.0

    # -- what is held ------------------------------------------------------------------

    def add_run(self, run: Run, ttl: timedelta) -> None:
        """A run this process has just claimed."""
        self._runs[run.pk] = _Held(ttl, run.token)

    def remove_run(self, run_id: int | None) -> None:
        self._runs.pop(run_id or 0, None)
        self._lost.discard(run_id or 0)

    def add_lock(self, lock: Lock, run_id: int | None = None) -> None:
        """A lock this process has just taken, for the run ``run_id`` (if given)."""
        held = _Held(lock.ttl)
        held.run_id = run_id
        self._locks[id(lock)] = (lock, held)

    def remove_lock(self, lock: Lock) -> None:
        self._locks.pop(id(lock), None)
        self._lost_locks.discard(id(lock))

    def lock_lost(self, lock: Lock) -> bool:
        return id(lock) in self._lost_locks

    def runs(self) -> list[int]:
        """Runs claimed by this process and not finished yet."""
        return list(self._runs)

    def fresh(self, run_id: int) -> bool:
        """Whether the run's lease was taken or renewed within a third of its ttl: no other
        process can have declared it crashed since (short of a clock that jumped)."""
        held = self._runs.get(run_id)
        return held is not None and run_id not in self._lost and not held.due(time.monotonic())

    def renewed(self, run_id: int) -> None:
        if run_id in self._runs:
            self._runs[run_id].renewed = time.monotonic()

    def lost(self, run_id: int) -> bool:
        return run_id in self._lost

    # -- renewing ----------------------------------------------------------------------

    def pump(self) -> None:
        """Renew what is due now (a supervisor calls it while it waits)."""
        if time.monotonic() < self._next:
            return
        if self._runs or self._locks:
            self.beat()
        self._next = time.monotonic() + self._tick()

    def next_beat(self) -> float:
        """When :meth:`pump` has something to do next (monotonic)."""
        return self._next

    def _tick(self) -> float:
        ttls = [held.ttl for held in self._runs.values()] + [held.ttl for _, held in self._locks.values()]
        return min([MAX_TICK] + [max(0.05, ttl.total_seconds() / 6) for ttl in ttls])

    def beat(self) -> None:
        """Renew whatever has used up a third of its lease; stop the work whose lease was lost."""
        now = time.monotonic()
        runs = {rid: held for rid, held in self._runs.items() if held.due(now) and rid not in self._lost}
        locks = [(lock, held) for lock, held in self._locks.values() if held.due(now)]
        # Locks first: they keep other processes out; run leases may wait behind a job's
        # transaction on SQLite.
        for lock, held in locks:
            try:
                kept = lock.renew()
            except Exception:
                logger.warning("could not renew lock %r", lock.name, exc_info=True)
                continue
            if kept:
                held.renewed = now
                continue
            released = getattr(lock, "held", True) is False  # by this process (its run is finishing)
            if released or (held.run_id is not None and _finished_here({held.run_id})):
                self.remove_lock(lock)  # or by its run's record, in the work horse's transaction
                continue
            logger.error("lock %r was lost: its lease expired before it could be renewed", lock.name)
            self._locks.pop(id(lock), None)
            self._lost_locks.add(id(lock))
        by_ttl: dict[timedelta, dict[int, str]] = {}
        for run_id, held in runs.items():
            by_ttl.setdefault(held.ttl, {})[run_id] = held.token
        if not by_ttl:
            return
        with _briefly_on_sqlite(router.db_for_write(Run)):
            self._renew_runs(by_ttl, runs, now)

    def _renew_runs(self, by_ttl: dict[timedelta, dict[int, str]], runs: dict[int, _Held], now: float) -> None:
        for ttl, tokens in by_ttl.items():
            try:
                lost = Run.objects.renew(tokens, ttl)
                finished = _finished_here(lost)
            except Exception:
                logger.info("could not renew the lease of run(s) %s now; trying again", list(tokens), exc_info=True)
                continue
            for run_id in tokens:
                held = runs[run_id]
                if run_id not in lost:
                    held.renewed = now
                    continue
                if run_id in finished:  # recorded by this process, which is finishing it: not lost
                    self.remove_run(run_id)
                    continue
                logger.error("run %s was declared crashed by another process: this one lost its claim", run_id)
                self._lost.add(run_id)


def _finished_here(lost: set[int]) -> set[int]:
    """Of the runs a renewal no longer found running, those their own process recorded (any final
    status but crashed, which only another process's crash recovery writes): judged by the record,
    a run that is being finished (its notices, its monitors) has not lost its claim."""
    if not lost:
        return set()
    return set(
        Run.objects.writable().filter(pk__in=lost).exclude(status=Run.Status.CRASHED).values_list("pk", flat=True)
    )


@contextmanager
def _briefly_on_sqlite(alias: str) -> Iterator[None]:
    """On SQLite, the heartbeat's writes give up after a moment instead of the busy timeout.

    A job's write transaction holds the file's only write lock; a renewal stuck behind it for
    the whole busy timeout would hold up the lock renewals of the next beats (and a supervisor's
    watch over its deadlines). The connection's other writes keep the busy timeout they had.
    """
    connection = connections[alias]
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute(f"PRAGMA busy_timeout = {SQLITE_WAIT_MS}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(before)}")


_heartbeat: Heartbeat | None = None


def get() -> Heartbeat:
    """This process's heartbeat (a forked worker gets a new one)."""
    global _heartbeat
    if _heartbeat is None or _heartbeat.pid != os.getpid():
        _heartbeat = Heartbeat()
    return _heartbeat


# -- the runs of other processes -------------------------------------------------------------


def recover(now: datetime, *, notify: bool = True) -> list[Outcome]:
    """Record the runs of dead processes as crashed, and due for a retry when the job has retries left.

    Any registered job's runs, whichever jobs this invocation was asked to run. ``notify``: send
    their ``run_finished`` here (a supervisor has its work horse send them instead).
    """
    jobs = registry.get_jobs()
    outcomes = []
    for run in Run.objects.crash_lost(now):
        logger.error("%s %s #%d crashed: %s", run.job_id, run.slot.isoformat(), run.attempt, run.message)
        outcome = Outcome.of(run)
        outcomes.append(outcome)
        job = jobs.get(run.job_id)
        if job is None:
            continue
        if run.attempt <= job.retries:
            wait = retrying.delay(job, run.slot, run.attempt + 1)
            Job.objects.schedule_retry(run.job_id, now + wait, run.slot, run.attempt + 1, replace=False)
        if notify:
            signals.send(signals.run_finished, job, run=run, outcome=outcome)  # its own process never will
    return outcomes


def abandon(message: str = "not started: runcrons was stopped") -> None:
    """This process stops: the runs it claimed and never started are recorded as interrupted."""
    Run.objects.abandon(get().runs(), message)


def sleep(seconds: float) -> None:
    """Wait ``seconds`` (a jittered start), renewing what this process holds; ends early when
    runcrons is asked to stop."""
    from cronjobs.engine import stops

    beat = get()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if not stops.sleep(min(left, max(0.0, beat.next_beat() - time.monotonic()))):
            return
        beat.pump()
