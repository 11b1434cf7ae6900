"""What runcrons does besides running due jobs: drain one-off tasks, and keep going with ``--loop``.

A plain invocation (cron's, every minute) runs the due jobs, then drains ready tasks for at
most ``CRONJOBS["TASKS_BUDGET"]`` after it started. ``--loop`` runs the due jobs at every
minute boundary, and at the next due slot of any job when that comes first (intervals under a
minute, :mod:`cronjobs.engine.wakeups`), and drains in between: the mode for containers
without cron.
``--tasks-only`` leaves the jobs alone. ``--workers N`` drains in N processes.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from django.db import DatabaseError, close_old_connections, connections
from django.utils import timezone

from cronjobs import conf
from cronjobs.engine import following, processes, stops, supervisor, wakeups
from cronjobs.engine.outcomes import Outcome

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


class DrainReport(Protocol):
    """What draining did in one process; reports of several processes add up."""

    @property
    def ran(self) -> int: ...

    def add(self, other: Any) -> None: ...

    def summary(self) -> str | None:
        """One line for runcrons' output, or None when there is nothing to say."""


class Drainer(Protocol):
    """Work that runcrons drains besides its jobs. The tasks app (``cronjobs.tasks``) registers one."""

    def configured(self) -> bool:
        """Whether there is anything to drain at all (a queue is configured)."""

    def ready(self, queues: list[str] | None) -> bool:
        """Whether work is ready now (one cheap query)."""

    def tidy(self) -> None:
        """Housekeeping between drains (deleting old results)."""

    def worker(self, queues: list[str] | None) -> Any:
        """A long-lived drainer: ``.drain(until=...)`` where it runs inline, ``.recover_if_due()``
        for a supervisor that finds no work ready (the work horse drains otherwise)."""


_drainer: Drainer | None = None


def register_drainer(drainer: Drainer) -> None:
    """Have runcrons drain ``drainer`` between jobs (called from an AppConfig's ``ready()``)."""
    global _drainer
    _drainer = drainer


def drainer() -> Drainer | None:
    """The registered drainer, if one is configured to drain anything."""
    return _drainer if _drainer is not None and _drainer.configured() else None


def drain_tasks(
    *, started: float, workers: int = 1, queues: list[str] | None = None, by: float | None = None
) -> DrainReport | None:
    """Drain ready work until none is ready or the budget since ``started`` (monotonic) is spent,
    or ``by`` (monotonic) when that comes first: the next slot of a sub-minute job."""
    found = drainer()
    if found is None:
        return None
    until = started + conf.get("TASKS_BUDGET").total_seconds()
    if by is not None:
        until = min(until, by)
    if until <= time.monotonic():
        return None
    found.tidy()
    if workers > 1 and not found.ready(queues):
        workers = 1  # no process to fork for an empty queue; this one still recovers lost work
    if workers <= 1:
        return _drain(found, found.worker(queues), until, queues)

    def drain_here(channel: processes.Channel) -> DrainReport | None:
        with supervisor.session():
            return _drain(found, found.worker(queues), until, queues)

    reports = [c.result for c in processes.fork(workers, drain_here)]
    total, *others = [report for report in reports if report is not None] or [None]
    for other in others:
        total.add(other)
    return total


#: The signal that stopped the loop came while it waited for work, with nothing running.
stopped_while_idle = False


def run_loop(
    *,
    run_jobs: Callable[[datetime], list[Outcome]] | None,
    workers: int = 1,
    queues: list[str] | None = None,
    report: Callable[[list[Outcome], Any], None] = lambda outcomes, drained: None,
    next_due: Callable[[], datetime | None] = lambda: None,
) -> None:
    """Run forever (until a signal): due jobs at each minute boundary, and at ``next_due()``
    when it comes first, ready tasks in between.

    ``run_jobs(now)`` runs the due jobs (None with ``--tasks-only``). With ``workers`` > 1, that
    many forked processes: the first also runs the jobs, the others only drain.
    """
    if workers > 1:
        processes.fork(
            workers,
            lambda channel: _loop_body(run_jobs if channel.index == 0 else None, queues, report, next_due),
        )
    else:
        _loop_body(run_jobs, queues, report, next_due)


def _loop_body(
    run_jobs: Callable[[datetime], list[Outcome]] | None,
    queues: list[str] | None,
    report: Callable[[list[Outcome], Any], None],
    next_due: Callable[[], datetime | None],
) -> None:
    found = drainer()
    worker = found.worker(queues) if found is not None else None  # kept: its batch sizes, its recovery
    draining = worker is not None
    poll = conf.get("TASKS_POLL_INTERVAL").total_seconds()
    next_jobs = time.monotonic()
    next_prune = time.monotonic()
    while True:
        stops.check()
        try:
            outcomes: list[Outcome] = []
            if run_jobs is not None and time.monotonic() >= next_jobs:
                now = timezone.now()
                outcomes = run_jobs(now)
                next_jobs = time.monotonic() + wakeups.seconds_until_next_pass(timezone.now(), next_due())
            if found is not None and time.monotonic() >= next_prune:
                found.tidy()
                next_prune = time.monotonic() + 3600
            until = next_jobs if run_jobs is not None else time.monotonic() + 60
            drained = _drain(found, worker, until, queues) if found is not None and worker is not None else None
            if run_jobs is not None:
                outcomes += following.follow()  # handed-off runs whose task has finished
            report(outcomes, drained)
            if drained is None or drained.ran == 0:
                close_old_connections()  # honour CONN_MAX_AGE while idle, never between tasks
                if not stops.sleep(
                    min(until, time.monotonic() + poll) - time.monotonic() if draining else until - time.monotonic()
                ):
                    global stopped_while_idle
                    stopped_while_idle = True  # nothing was running: runcrons --loop exits 0
                    return
        except DatabaseError as exc:
            logger.error("database error, trying again in %ss: %s", ERROR_PAUSE, exc)
            connections.close_all()
            time.sleep(ERROR_PAUSE)


def _drain(found: Drainer, worker: Any, until: float, queues: list[str] | None) -> DrainReport | None:
    """One drain: in the work horse (a task past its timeout is killed there), or inline where a
    work horse could not see the data (``worker`` drains). With no task ready, no work horse is
    started: this process only recovers the tasks of lost workers, when it is time to."""
    if supervisor.inline_reason() is not None:
        return worker.drain(until=until)
    recovered = None
    if not found.ready(queues):
        recovered = worker.recover_if_due()
        if not recovered.recovered or not found.ready(queues):
            return recovered
    report = supervisor.drain(queues, until=until)  # the tasks it recovered, retried now
    if recovered is not None:
        report.add(recovered)
    return report
