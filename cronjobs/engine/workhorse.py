"""The work horse: the child process in which project code runs, under a supervisor's eye.

A supervisor (:mod:`cronjobs.engine.supervisor`) forks it and sends it work over a pipe: one
claimed run of a job, a drain of ready tasks, the notices of a run it had to stop. It opens its
own database connections, tells the supervisor each one's id on the server (so that a stop
cancels its queries there), runs the job's conditions, hooks and ``run()`` in the job's
transaction with the fenced record (:mod:`cronjobs.engine.execution`), and answers with the
outcome. It never takes or renews a lease: its supervisor does.

**Output** goes to a file the supervisor made: the child's file descriptors 1 and 2 point at it,
so what C code and subprocesses write is captured too. Each run starts it empty; the run's
record keeps its first and last ``OUTPUT_LIMIT // 2`` characters.

**It dies with its supervisor** (``PR_SET_PDEATHSIG``: SIGKILL). SIGTERM and Ctrl-C are its
supervisor's to act on (:func:`cronjobs.engine.stops.in_child`). It leads a process group of its
own, which the supervisor kills with SIGKILL when it must stop the work: with the programs its
jobs started. Nothing in it needs a chance to clean up: the server rolls its transaction back.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

from cronjobs import conf, signals
from cronjobs.engine import execution, stops
from cronjobs.engine.hooks import Hooks
from cronjobs.engine.outcomes import Outcome
from cronjobs.engine.output import Output
from cronjobs.models import Run

logger = logging.getLogger("cronjobs")

#: runcrons' own stdout and stderr (what tasks print goes there).
_standard = (1, 2)
#: ``prctl(2)`` option: the signal a process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def serve(channel: Any, output: int) -> None:
    """The work horse's life: set up, then do what the supervisor sends until it says exit."""
    status = 0
    try:
        _set_up(channel, output)
        while True:
            try:
                message = channel.recv()
            except (EOFError, OSError):
                break  # the supervisor is gone
            kind = message[0]
            if kind == "exit":
                break
            try:
                reply = _HANDLERS[kind](channel, output, *message[1:])
            except BaseException:  # a bug of ours: say so, and end (the supervisor replaces us)
                channel.send(("error", traceback.format_exc()))
                status = 1
                break
            channel.send(reply)
    finally:
        try:
            connections.close_all()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)  # never the supervisor's atexit handlers or its buffered output


def _set_up(channel: Any, output: int) -> None:
    try:
        os.setpgid(0, 0)  # a process group of its own: killed with what its jobs started
    except OSError:
        pass
    stops.in_child()
    _die_with_parent()
    _keep_log_lines()
    global _standard
    for stream in (sys.stdout, sys.stderr):  # whatever a job prints is kept, lone surrogates too
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    _standard = (os.dup(1), os.dup(2))
    os.dup2(output, 1)
    os.dup2(output, 2)

    def tell(sender: Any, connection: Any, **kwargs: Any) -> None:
        server_id = _server_id(connection)
        if server_id is not None:
            channel.send(("connection", connection.alias, connection.vendor, server_id))

    connection_created.connect(tell, weak=False)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    # (The supervisor also kills it when it ends; a parent that died before the prctl is seen here.)
    if os.getppid() == 1:
        os._exit(1)


def _keep_log_lines() -> None:
    """runcrons' own log lines (``-v 2``) keep going to its stderr, not into the jobs' output."""
    stderr = None
    for handler in logging.getLogger("cronjobs").handlers:
        if getattr(handler, "_cronjobs", False) and isinstance(handler, logging.StreamHandler):
            if stderr is None:
                stderr = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="backslashreplace")
            handler.setStream(stderr)


def _server_id(connection: Any) -> int | None:
    """The connection's id on the server (its backend pid, its thread id), None on SQLite."""
    query = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}.get(connection.vendor)
    if query is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(query)
        return int(cursor.fetchone()[0])


# -- a job --------------------------------------------------------------------------------


def _job(channel: Any, output: int, code: str, run: Run) -> tuple[Any, ...]:
    """A run whose conditions (``should_run``) or hand-off come first; then, if it is to run, the
    supervisor takes the lock and says go."""
    from cronjobs.engine.supervisor import job_class

    job_cls = job_class(code)
    outcome = execution.prepare(job_cls, run)
    if outcome is None:
        channel.send(("ready",))
        _, lock, refused = channel.recv()
        return _run(channel, output, code, run, lock, refused)
    return ("done", outcome, over_memory())


def _run(channel: Any, output: int, code: str, run: Run, lock: Any, refused: dict[str, Any] | None) -> tuple[Any, ...]:
    """A run to start now, under ``lock`` (its supervisor's), or to record as ``refused`` (the lock
    was held elsewhere, or could not be taken)."""
    from cronjobs.engine.supervisor import job_class

    job_cls = job_class(code)
    if refused is not None:
        outcome = execution.record(job_cls, run, **refused)
    else:
        outcome = execution.perform(job_cls, run, lock, captured=Output(conf.get("OUTPUT_LIMIT")))
    return ("done", outcome, over_memory())


def _notices(channel: Any, output: int, code: str, run_id: int, error: BaseException | None) -> tuple[Any, ...]:
    """The notices of a run its supervisor stopped or found crashed (it recorded the run): the
    job's ``on_failure`` and ``on_finish`` hooks when it had started (``error`` given), then
    ``run_finished``."""
    from cronjobs.engine.supervisor import job_class

    try:
        job_cls = job_class(code)
    except KeyError:
        return ("noticed",)
    run = Run.objects.writable().filter(pk=run_id).first()
    if run is None:
        return ("noticed",)
    outcome = Outcome.of(run)
    if error is not None:
        job = job_cls()
        job.slot, job.attempt, job.forced = run.slot, run.attempt, run.forced
        outcome = Hooks(job, run).finished(outcome, error=error)
    signals.send(signals.run_finished, job_cls, run=run, outcome=outcome)
    return ("noticed",)


# -- tasks --------------------------------------------------------------------------------


_workers: dict[tuple[str, ...], Any] = {}


def _drain(
    channel: Any, output: int, queues: list[str] | None, until: float | None, limit: int | None
) -> tuple[Any, ...]:
    """Drain ready tasks, telling the supervisor which task starts, with its timeout. What tasks
    print goes to runcrons' own output, as it did before there were work horses."""
    from cronjobs.tasks.worker import Worker

    key = tuple(queues or ())
    worker = _workers.get(key)
    if worker is None:
        worker = _workers[key] = Worker(queues=queues)

    def starting(row: Any, worker_id: str) -> None:  # with what the drain has done: kept if it is killed
        channel.send(("task", row.pk, row.attempts, row.timeout, worker_id, worker.progress))

    worker.starting = starting
    channel.send(("worker", worker.worker_id))  # what it claims is given back if it is killed
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(_standard[0], 1)
    os.dup2(_standard[1], 2)
    try:
        report = worker.drain(until=until, limit=limit)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(output, 1)
        os.dup2(output, 2)
    return ("drained", report, over_memory())


def _task_stopped(
    channel: Any, output: int, task_id: str, attempt: int, worker_id: str, why: str, timed_out: bool
) -> tuple[Any, ...]:
    """A task whose work horse was killed (its timeout) or died: its attempt's outcome."""
    from cronjobs.tasks.worker import record_stopped

    return ("noticed", record_stopped(task_id, attempt, worker_id, why, timed_out=timed_out))


_HANDLERS: dict[str, Callable[..., tuple[Any, ...]]] = {
    "run": _run,
    "job": _job,
    "notices": _notices,
    "drain": _drain,
    "task-stopped": _task_stopped,
}


def over_memory() -> bool:
    """Whether this process holds more memory than ``WORK_HORSE_MAX_MEMORY`` (MiB): time to retire."""
    ceiling = conf.get("WORK_HORSE_MAX_MEMORY")
    return bool(ceiling) and resident_bytes() > ceiling * 1024 * 1024


def resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
