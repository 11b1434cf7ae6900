"""The supervisor's side of supervised execution: start, feed, stop and replace work horses.

runcrons (and each ``--workers`` process) plans, claims slots, takes and renews locks and leases,
keeps deadlines and treats signals as flags (:mod:`cronjobs.engine.stops`). It never runs project
code: a **work horse** (:mod:`cronjobs.engine.workhorse`), a child it forks, does. The work horse
is reused from run to run while it behaves, and replaced after ``WORK_HORSE_MAX_RUNS`` runs, when
it reports more memory than ``WORK_HORSE_MAX_MEMORY``, and when it was killed or died.

**Stopping is killing.** When a run passes its ``timeout``, loses its lease or lock (another
process declared it crashed), or runcrons is asked to stop (after ``STOP_GRACE``), the
supervisor kills the work horse and what its jobs started (SIGKILL to its process group), ends its
sessions on the database server (``pg_terminate_backend``, ``KILL``), so that the server rolls its
transaction back at once, and records the run (timed out, failed, interrupted), conditionally on
the run's token, as every record is. A work horse that dies on its own (SIGKILL, the OOM killer,
a segfault, ``os._exit``) makes its run ``crashed`` at once, its exit status or signal in the
message; retries apply. A stopped or crashed run's hooks (``on_failure``, ``on_finish``) and
``run_finished`` notices run in the next work horse; not when runcrons itself is stopping.

**Inline.** Where a child could not see the data a run needs (runcrons called inside a
transaction, as in a ``TestCase``; an in-memory SQLite database), runs are executed inline,
without a work horse: :func:`inline_reason`. There a timeout stops a job only between two
bytecodes (:mod:`cronjobs.engine.alarm`), and a stop only between two jobs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any

from django.db import DatabaseError, connections, router

from cronjobs import conf
from cronjobs.engine import conditions, execution, leases, retrying, stops, workhorse
from cronjobs.engine.outcomes import Outcome, announce
from cronjobs.engine.output import output_file, read_bounded
from cronjobs.exceptions import JobCrashed, JobTimeout, LostClaim, LostLock
from cronjobs.jobs import BaseCronJob
from cronjobs.locks.database import DatabaseLock
from cronjobs.models import Run

logger = logging.getLogger("cronjobs")

Status = Run.Status

#: How long a work horse that was asked to exit (or closed its pipe) may take before it is killed (seconds).
KILL_GRACE = 2.0
#: The supervisor looks at its leases and deadlines at least this often while it waits (seconds).
MAX_WAIT = 1.0


def inline_reason() -> str | None:
    """Why runs must be executed in this process (None: in a work horse)."""
    if not hasattr(os, "fork"):
        return "this platform cannot fork"
    alias = router.db_for_write(Run)
    connection = connections[alias]
    if connection.in_atomic_block:
        return "runcrons was called inside a transaction (a work horse could not see its data)"
    if connection.vendor == "sqlite" and getattr(connection, "is_in_memory_db", lambda: False)():
        return "the database is an in-memory SQLite database"
    return None


class Stop:
    """Why the supervisor stops what its work horse is doing."""

    def __init__(self, status: str, error: BaseException, *, stopping: bool = False) -> None:
        self.status: str = status
        self.error = error
        self.stopping = stopping
        """runcrons itself is stopping (a signal): nothing more is started."""


class Died(Stop):
    def __init__(self, how: str) -> None:
        super().__init__(Status.CRASHED, JobCrashed(f"its work horse {how}"))


class WorkHorse:
    """One work-horse child and the supervisor's end of its pipe."""

    def __init__(self) -> None:
        self.runs = 0
        self.retiring = False
        self.known = dict(_known)
        """The job classes it can run: those this process knew when it forked it."""
        self.servers: list[tuple[str, str, int]] = []
        """(alias, vendor, id) of each of its database sessions."""
        self.output = output_file()
        ours, theirs = Pipe(duplex=True)
        sys.stdout.flush()
        sys.stderr.flush()
        connections.close_all()  # the child opens its own; an inherited one must never be shared
        pid = os.fork()
        if pid == 0:  # the child
            ours.close()
            os.set_inheritable(self.output, False)
            workhorse.serve(theirs, os.dup(self.output))
        theirs.close()
        try:
            os.setpgid(pid, pid)  # as the child does: whichever comes first
        except OSError:
            pass
        self.pid = pid
        self.channel: Connection = ours
        self.alive = True
        logger.debug("work horse %s started", pid)

    # -- talking -----------------------------------------------------------------------

    def send(self, message: tuple[Any, ...]) -> None:
        self.channel.send(message)

    def wait(
        self, *, deadline: float | None = None, timeout: Any = None, run: Run | None = None, lock: Any = None
    ) -> tuple[Any, ...] | Stop:
        """The work horse's next message, or why it must be stopped: the ``deadline`` (monotonic)
        passed, ``run``'s claim or ``lock`` was lost, runcrons was asked to stop (after the stop
        grace), or it died. Renews this process's leases meanwhile."""
        beat = leases.get()
        grace_until: float | None = None
        while True:
            now = time.monotonic()
            signum = stops.requested()
            if signum is not None:
                if grace_until is None:
                    grace_until = now + stop_grace()
                if now >= grace_until or stops.count() > 1:
                    return Stop(Status.INTERRUPTED, stops.exception(signum), stopping=True)
            if deadline is not None and now >= deadline:
                return Stop(Status.TIMED_OUT, JobTimeout(f"stopped after {timeout}"))
            beat.pump()
            if run is not None and beat.lost(run.pk):
                return Stop(Status.FAILED, LostClaim("another process declared the run crashed while it ran here"))
            if lock is not None and beat.lock_lost(lock):
                if run is None or Run.objects.writable().filter(pk=run.pk, status=Status.RUNNING).exists():
                    return Stop(
                        Status.FAILED, LostLock(f"lost its {type(lock).__name__} {lock.name!r}: its lease expired")
                    )
                lock = None  # released by the run's record, which the work horse has written
            limits = [now + MAX_WAIT, beat.next_beat()]
            limits += [t for t in (deadline, grace_until) if t is not None]
            sources: list[Any] = [self.channel]
            wakeup = stops.wakeup_fd()
            if wakeup is not None:
                sources.append(wakeup)
            ready = wait(sources, max(0.0, min(limits) - now))
            if wakeup is not None and wakeup in ready:
                stops.drain_wakeups()
            if self.channel not in ready:
                continue
            try:
                message = self.channel.recv()
            except (EOFError, OSError):
                return Died(self.reap())
            if message[0] == "connection":
                self.servers.append(message[1:])
                continue
            if message[0] == "error":
                logger.error("work horse %s failed:\n%s", self.pid, message[1])
                return Died(self.reap())
            return message

    # -- ending ------------------------------------------------------------------------

    def kill(self) -> str:
        """Kill it, and what its jobs started (its process group), and end its database sessions;
        how it ended. SIGKILL at once: the server rolls back whatever it had open, and nothing of
        it needs a chance to clean up (a job's own SIGTERM handler could not run in C code anyway)."""
        if not self.alive:
            return "had ended"
        for kill in (os.killpg, os.kill):
            try:
                kill(self.pid, signal.SIGKILL)
                break
            except ProcessLookupError:
                continue
        return self._ended(os.waitpid(self.pid, 0)[1])

    def reap(self) -> str:
        """It closed its end (it died, or exited): wait for it; how it ended."""
        if not self.alive:
            return "had ended"
        status = self._exit_status(KILL_GRACE)
        return self.kill() if status is None else self._ended(status)

    def _exit_status(self, timeout: float) -> int | None:
        """Its wait status once it has exited, within ``timeout`` seconds; None if it has not.

        Waits on a pidfd where there is one (no polling, no sleep: ``time.sleep`` fails under
        libfaketime, which the tests use)."""
        done, status = os.waitpid(self.pid, os.WNOHANG)
        if done:
            return status
        try:
            pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            pidfd = None
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                if pidfd is not None:
                    wait([pidfd], left)
                else:
                    wait([], min(left, 0.01))
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    return status
        finally:
            if pidfd is not None:
                os.close(pidfd)
        return None

    def _ended(self, status: int) -> str:
        self.alive = False
        self.channel.close()
        self._end_sessions()
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            return f"was killed by {name}"
        return f"exited with status {os.WEXITSTATUS(status)}"

    def _end_sessions(self) -> None:
        """End its sessions on the server: their transactions roll back now, not when the server
        next notices the closed socket (a long query would run on)."""
        statements = {"postgresql": "SELECT pg_terminate_backend(%s)", "mysql": "KILL %s"}
        for alias, vendor, server_id in self.servers:
            statement = statements.get(vendor)
            if statement is None:
                continue
            try:
                with connections[alias].cursor() as cursor:
                    cursor.execute(statement, [server_id])
            except DatabaseError as exc:  # already gone (MySQL: "Unknown thread id")
                logger.debug("ending session %s on %r: %s", server_id, alias, exc)
        self.servers = []

    def close(self) -> None:
        """Ask it to exit and wait for it (it is done with its work)."""
        if not self.alive:
            return
        try:
            self.send(("exit",))
        except OSError:
            pass
        self.reap()

    def output_text(self) -> str:
        """What it wrote since its current run began (read after it was stopped)."""
        try:
            return read_bounded(self.output, conf.get("OUTPUT_LIMIT"))
        except OSError:
            return ""

    def __del__(self) -> None:
        try:
            os.close(self.output)
        except (OSError, AttributeError):
            pass


_horse: WorkHorse | None = None
_owner = 0
_known: dict[str, type[BaseCronJob]] = {}


def know(jobs: dict[str, type[BaseCronJob]]) -> None:
    """The job classes the next runs may be of (a work horse forked later knows them; one forked
    earlier that does not know a class is replaced: a class need not be importable by name)."""
    _known.update(jobs)


def job_class(code: str) -> type[BaseCronJob]:
    """In the work horse: the class of job ``code``, as its supervisor knew it."""
    from cronjobs import registry

    found = _known.get(code)
    return found if found is not None else registry.get_jobs()[code]


def work_horse() -> WorkHorse:
    """This process's work horse, started (or replaced) when needed."""
    global _horse, _owner
    if _horse is not None and _owner != os.getpid():
        _horse = None  # a forked --workers process: its parent's is not its own
    if _horse is not None and (not _horse.alive or _horse.retiring):
        _horse.close()
        _horse = None
    if _horse is None:
        _horse, _owner = WorkHorse(), os.getpid()
    return _horse


def _served(horse: WorkHorse, retire: bool) -> None:
    horse.runs += 1
    if retire:
        logger.info("work horse %s is above WORK_HORSE_MAX_MEMORY: replacing it", horse.pid)
    if retire or horse.runs >= conf.get("WORK_HORSE_MAX_RUNS"):
        horse.retiring = True


def shutdown() -> None:
    """runcrons is done: its work horse exits."""
    global _horse
    if _horse is not None and _owner == os.getpid():
        _horse.close()
    _horse = None


_sessions = 0


@contextlib.contextmanager
def session() -> Iterator[None]:
    """The work horse started inside lives until the outermost session ends (runcrons keeps one
    for its whole invocation: its passes, its drains and its ``--loop`` share a work horse)."""
    global _sessions
    _sessions += 1
    try:
        yield
    finally:
        _sessions -= 1
        if _sessions == 0:
            shutdown()


def stop_grace() -> float:
    """How long running work may go on after a stop signal (seconds)."""
    value = _grace_override if _grace_override is not None else conf.get("STOP_GRACE")
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value or 0)


_grace_override: float | None = None


def set_stop_grace(seconds: float | None) -> None:
    """``runcrons --stop-grace``: overrides ``STOP_GRACE`` for this process."""
    global _grace_override
    _grace_override = seconds


# -- a job --------------------------------------------------------------------------------


def execute(job_cls: type[BaseCronJob], run: Run) -> Outcome:
    """Run ``job_cls`` for the claimed ``run`` in the work horse; record it if it must be stopped.

    Re-raises the stop after recording the run as interrupted when runcrons was asked to stop.
    """
    code = job_cls.get_code()
    _known[code] = job_cls
    horse = work_horse()
    if horse.known.get(code) is not job_cls:
        horse.retiring = True
        horse = work_horse()
    seconds = job_cls.timeout.total_seconds() if job_cls.timeout is not None else None
    deadline = None if seconds is None else time.monotonic() + seconds
    started = time.monotonic()
    lock = None
    try:
        if _runs_at_once(job_cls, run):  # nothing of the project's to ask first: the lock, then the job
            lock, refused = execution.take_lock(job_cls, run)
            horse.send(("run", code, run, _for_child(lock), refused))
            answer = horse.wait(deadline=deadline, timeout=job_cls.timeout, run=run, lock=lock)
        else:  # its conditions (should_run) or its hand-off first, in the work horse
            horse.send(("job", code, run))
            answer = horse.wait(deadline=deadline, timeout=job_cls.timeout, run=run)
            if not isinstance(answer, Stop) and answer[0] == "ready":
                lock, refused = execution.take_lock(job_cls, run)
                horse.send(("go", _for_child(lock), refused))
                answer = horse.wait(deadline=deadline, timeout=job_cls.timeout, run=run, lock=lock)
            # else "done": skipped, failed or handed off before the job would start
        if isinstance(answer, Stop):
            return _stopped(horse, job_cls, run, answer, time.monotonic() - started, lock)
        _, outcome, retire = answer
        if isinstance(lock, DatabaseLock) and lock.db == router.db_for_write(Run):
            lock.held = False  # released with the run's record, in the work horse's transaction
        _served(horse, retire)
        announce([outcome])
        return outcome
    finally:
        leases.get().remove_run(run.pk)
        execution.release(run, lock)


def _runs_at_once(job_cls: type[BaseCronJob], run: Run) -> bool:
    """Whether the job can start without asking the work horse first: no ``should_run`` (project
    code), no hand-off, and its other conditions (read from its attributes) let the slot run."""
    if job_cls.task_backend is not None:
        return False
    if run.forced:
        return True
    if job_cls.should_run is not BaseCronJob.should_run:
        return False
    return conditions.static_reason(job_cls, run.slot, conf.get("ENVIRONMENT")) is None


def _for_child(lock: Any) -> Any:
    """The lock as the work horse needs it: a database lock, to release with the run's record."""
    return lock if isinstance(lock, DatabaseLock) else None


def _stopped(horse: WorkHorse, job_cls: type[BaseCronJob], run: Run, stop: Stop, duration: float, lock: Any) -> Outcome:
    how = horse.kill() if not isinstance(stop, Died) else None
    output = horse.output_text()
    status: str
    if isinstance(stop, Died):
        status, message = Status.CRASHED, f"{stop.error} while it ran the job"
    elif stop.stopping:
        status, message = Status.INTERRUPTED, str(stop.error) or "interrupted"
    else:
        status, message = execution.failure(job_cls, stop.error)
    logger.error("%s %s: %s (work horse %s %s)", run.job_id, run.slot.isoformat(), message, horse.pid, how or "died")
    if not Run.objects.finish(run, status, duration=duration, message=message, output=output):
        Run.objects.record_late_end(run, execution.LATE_ROLLED_BACK, duration=duration, output=output)
        run = Run.objects.writable().get(pk=run.pk)
    outcome = Outcome.of(run)
    announce([outcome])
    if stop.stopping:
        raise stop.error
    if not retrying.wanted(job_cls, stop.error):
        outcome = _not_retryable(outcome)
    _notices(job_cls, run, stop.error)
    return outcome


def _not_retryable(outcome: Outcome) -> Outcome:
    import dataclasses

    return dataclasses.replace(outcome, retryable=False)


def _notices(job_cls: type[BaseCronJob], run: Run, error: BaseException | None) -> None:
    """The notices of a run this process recorded (hooks when ``error``, then ``run_finished``), in a work horse."""
    if stops.requested() is not None:
        return
    horse = work_horse()
    horse.send(("notices", job_cls.get_code(), run.pk, error))
    seconds = job_cls.timeout.total_seconds() if job_cls.timeout is not None else None
    answer = horse.wait(deadline=None if seconds is None else time.monotonic() + seconds, timeout=job_cls.timeout)
    if isinstance(answer, Stop):
        how = horse.kill() if not isinstance(answer, Died) else "died"
        logger.error("%s: the notices of run %s were stopped (work horse %s %s)", run.job_id, run.pk, horse.pid, how)


def notify(job_cls: type[BaseCronJob], run: Run) -> None:
    """``run_finished`` for a run this process recorded without its work horse (a handed-off run
    settled from its task's result), sent in the work horse."""
    _notices(job_cls, run, None)


def notify_crashed(outcomes: list[Outcome]) -> None:
    """``run_finished`` for runs crash recovery recorded (their own process never will)."""
    from cronjobs import registry

    jobs = registry.get_jobs()
    for outcome in outcomes:
        job_cls = jobs.get(outcome.code)
        if job_cls is not None and outcome.run_id is not None:
            run = Run(pk=outcome.run_id, job_id=outcome.code)
            _notices(job_cls, run, None)


# -- tasks --------------------------------------------------------------------------------


def drain(queues: list[str] | None, *, until: float | None, limit: int | None = None) -> Any:
    """Drain ready tasks in the work horse until none is ready, ``until`` or ``limit``; a task past
    its timeout is killed with its work horse and recorded by its attempt, and a new one goes on.

    A stop kills the work horse and gives back what it had claimed: raised when a task had
    started in this drain, else the drain just ends (the caller looks at :mod:`stops`)."""
    from cronjobs.tasks.worker import Drained

    total = Drained()
    while True:
        horse = work_horse()
        horse.send(("drain", queues, until, None if limit is None else limit - total.ran))
        current: tuple[str, int, str] | None = None
        current_worker: str | None = None
        progress = None  # what the drain had done when its last task started
        deadline: float | None = None
        while True:
            answer = horse.wait(deadline=deadline, timeout="its timeout")
            if isinstance(answer, Stop):
                break
            if answer[0] == "worker":
                current_worker = answer[1]
                continue
            if answer[0] == "task":
                _, task_id, attempt, seconds, worker_id, progress = answer
                current = (task_id, attempt, worker_id)
                deadline = None if seconds is None else time.monotonic() + seconds
                continue
            _, report, retire = answer
            total.add(report)
            _served(horse, retire)
            return total
        how = horse.kill() if not isinstance(answer, Died) else horse.reap()
        if progress is not None:
            total.add(progress)  # the tasks it finished before the one it was stopped in
        worker_id = current[2] if current is not None else current_worker
        if answer.stopping:
            if worker_id is not None:
                from cronjobs.tasks.models import QueuedTask

                given = QueuedTask.objects.release_worker(worker_id)
                if given:
                    logger.warning("%d claimed task(s) given back to the queue: runcrons was stopped", given)
            if current is None:
                return total  # no task had started: stopped while idle (the caller sees the stop)
            raise answer.error
        if current is None:  # it died between tasks: what it had claimed comes back after its lease
            logger.error("work horse %s %s while draining", horse.pid, how)
            return total
        task_id, attempt, worker_id = current
        why = (
            "stopped: the task ran past its timeout"
            if answer.status == Status.TIMED_OUT
            else f"the work horse running it {how}"
        )
        logger.error("task %s: %s", task_id, why)
        fresh = work_horse()
        fresh.send(("task-stopped", task_id, attempt, worker_id, why, answer.status == Status.TIMED_OUT))
        noticed = fresh.wait()
        if isinstance(noticed, Stop):
            if noticed.stopping:
                raise noticed.error
            fresh.kill()
        else:
            one = Drained()
            setattr(one, noticed[1], getattr(one, noticed[1]) + 1)
            total.add(one)
        if until is not None and time.monotonic() >= until:
            return total
