"""What runcrons does besides running due jobs: drain one-off tasks, and keep going with ``--loop``.

A plain invocation (cron's, every minute) runs the due jobs, then drains ready tasks for at
most ``CRONJOBS["TASKS_BUDGET"]`` after it started. ``--loop`` runs the due jobs at every
minute boundary and drains in between: the mode for containers without cron.
``--tasks-only`` leaves the jobs alone. ``--workers N`` drains in N processes.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from cronjobs import conf
from cronjobs.engine.execution import Outcome

logger = logging.getLogger("cronjobs")

#: After a database error, the loop waits this long before it tries again.
ERROR_PAUSE = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of runcrons that this module serves."""
    parser.add_argument("--loop", action="store_true", help="Keep running: due jobs every minute, tasks in between.")
    parser.add_argument("--tasks-only", action="store_true", help="Only drain one-off tasks, run no jobs.")
    parser.add_argument(
        "--queue", action="append", dest="queues", metavar="NAME", help="Drain only this task queue (repeatable)."
    )
    # --workers is runcrons' own: due jobs and the draining of tasks both use N processes.


def drain_tasks(*, started: float, workers: int = 1, queues: list[str] | None = None) -> Any:
    """Drain ready tasks until none is ready or the budget since ``started`` (monotonic) is spent."""
    from cronjobs.tasks.worker import Drained, backend_aliases, prune

    if not backend_aliases():
        return Drained()
    keep = conf.get("KEEP_TASK_RESULTS")
    if keep is not None:
        prune(keep)
    until = started + conf.get("TASKS_BUDGET").total_seconds()
    if workers > 1 and not _any_ready(queues):
        workers = 1  # no process to fork for an empty queue; this one still recovers lost tasks
    return in_processes(workers, _drain, until, queues)


def _any_ready(queues: list[str] | None) -> bool:
    """Whether a task is ready now (one indexed query)."""
    from django.utils import timezone

    from cronjobs.tasks.models import QueuedTask

    ready = QueuedTask.objects.filter(status=QueuedTask.Status.READY, run_after__lte=timezone.now())
    if queues:
        ready = ready.filter(queue_name__in=queues)
    return ready.exists()


def _drain(until: float, queues: list[str] | None) -> Any:
    from cronjobs.tasks.worker import Worker

    return Worker(queues=queues).drain(until=until)


def run_loop(
    *,
    run_jobs: Callable[[datetime], list[Outcome]] | None,
    workers: int = 1,
    queues: list[str] | None = None,
    report: Callable[[list[Outcome], Any], None] = lambda outcomes, drained: None,
) -> None:
    """Run forever (until a signal): due jobs at each minute boundary, ready tasks in between.

    ``run_jobs(now)`` runs the due jobs (None with ``--tasks-only``). Extra workers drain only.
    """
    if workers > 1:
        in_processes(workers, _loop_body, run_jobs, queues, report, parent_only=run_jobs is not None)
    else:
        _loop_body(run_jobs, queues, report)


def _loop_body(
    run_jobs: Callable[[datetime], list[Outcome]] | None,
    queues: list[str] | None,
    report: Callable[[list[Outcome], Any], None],
) -> None:
    from cronjobs.tasks.worker import Worker, backend_aliases, prune, sleep_until

    worker = Worker(queues=queues)
    draining = bool(backend_aliases())
    poll = conf.get("TASKS_POLL_INTERVAL").total_seconds()
    next_jobs = time.monotonic()
    next_prune = time.monotonic()
    while True:
        try:
            outcomes: list[Outcome] = []
            if run_jobs is not None and time.monotonic() >= next_jobs:
                now = timezone.now()
                outcomes = run_jobs(now)
                next_jobs = time.monotonic() + _until_next_minute(timezone.now())
            if draining and time.monotonic() >= next_prune:
                keep = conf.get("KEEP_TASK_RESULTS")
                if keep is not None:
                    prune(keep)
                next_prune = time.monotonic() + 3600
            until = next_jobs if run_jobs is not None else time.monotonic() + 60
            drained = worker.drain(until=until) if draining else None
            report(outcomes, drained)
            if drained is None or drained.ran == 0:
                close_old_connections()  # honour CONN_MAX_AGE while idle, never between tasks
                sleep_until(min(until, time.monotonic() + poll) if draining else until, poll)
        except DatabaseError as exc:
            logger.error("database error, trying again in %ss: %s", ERROR_PAUSE, exc)
            connections.close_all()
            time.sleep(ERROR_PAUSE)


def _until_next_minute(now: datetime) -> float:
    boundary = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return max((boundary - now).total_seconds(), 0.0)


# -- several processes -------------------------------------------------------------------


def in_processes(count: int, target: Callable[..., Any], *args: Any, parent_only: bool = False) -> Any:
    """Call ``target(*args)`` here and in ``count - 1`` forked processes; returns this process's result.

    With ``parent_only``, the first argument is replaced by None in the children (they only
    drain, the parent also runs the jobs). Children are stopped with the parent's SIGTERM.
    """
    if count <= 1:
        return target(*args)
    connections.close_all()  # children open their own connections
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    child_args = (None, *args[1:]) if parent_only else args
    children = [
        context.Process(target=_child, args=(target, child_args, results), daemon=True) for _ in range(count - 1)
    ]
    for child in children:
        child.start()
    try:
        result = target(*args)
    except BaseException:
        for child in children:
            child.terminate()
        raise
    finally:
        for child in children:
            child.join()
    failed = [child.exitcode for child in children if child.exitcode != 0]
    if failed:
        logger.error("%d drain process(es) exited with an error: %s", len(failed), failed)
    while not results.empty():
        other = results.get()
        if other is not None and hasattr(result, "add"):
            result.add(other)
    return result


def _child(target: Callable[..., Any], args: tuple, results: Any) -> None:
    from cronjobs.exceptions import Interrupted

    try:
        results.put(target(*args))
    except (KeyboardInterrupt, Interrupted):
        pass
    finally:
        connections.close_all()
