"""``runcrons --workers N``: the due jobs of one invocation run in N forked processes.

The parent plans (one query), then forks; each worker takes the next due job from a queue
and runs it the way a single process does: settling its slots by compare-and-set, claiming
them with unique rows, taking its lock, recording its runs. So exactly-once holds as it does
between separate ``runcrons`` processes, and one slow job does not hold up the rest.

The parent closes its database connections before forking, so every worker opens its own.
SIGTERM (or Ctrl-C) to the parent is passed on to the workers, which roll back, record their
runs as interrupted and release their locks; a worker that dies leaves its run to
:mod:`cronjobs.recovery` and is reported as crashed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import sys
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.utils import timezone

from cronjobs.engine import heartbeat, recovery
from cronjobs.engine.execution import Outcome
from cronjobs.engine.timeouts import queries_stopped_on
from cronjobs.exceptions import Interrupted
from cronjobs.models import Run

if TYPE_CHECKING:
    from cronjobs.engine.runner import Planned, Runner

logger = logging.getLogger("cronjobs")

#: How long the parent waits for its workers after passing a signal on (seconds).
STOP_GRACE = 30.0


def abandon_claims() -> None:
    """Runs this process claimed and never started: recorded as interrupted (it is stopping)."""
    beat = heartbeat.get()
    ids = beat.runs()
    beat.stop()
    if ids:
        Run.objects.filter(pk__in=ids, status=Run.Status.RUNNING).update(
            status=Run.Status.INTERRUPTED, finished_at=timezone.now(), message="not started: runcrons was stopped"
        )


def run_in_workers(runner: Runner, items: list[Planned], workers: int) -> list[Outcome]:
    """Run ``items`` in ``workers`` forked processes; outcomes in the order of ``items``."""
    context = multiprocessing.get_context("fork")
    tasks: Any = context.SimpleQueue()
    results: Any = context.Queue()
    for index in range(len(items)):
        tasks.put(index)
    count = min(workers, len(items))
    for _ in range(count):
        tasks.put(None)
    connections.close_all()  # each worker opens its own
    processes = [
        context.Process(target=_work, args=(runner, items, tasks, results), name=f"cronjobs-worker-{n}")
        for n in range(count)
    ]
    for process in processes:
        process.start()
    done: dict[int, list[Outcome]] = {}
    started: dict[int, int] = {}  # item -> pid of the worker that took it
    try:
        while len(done) < len(items):
            try:
                kind, index, pid, payload = results.get(timeout=0.2)
            except queue.Empty:
                if any(p.is_alive() for p in processes):
                    continue
                try:  # everyone has exited: read what is left, then stop
                    kind, index, pid, payload = results.get(timeout=1)
                except queue.Empty:
                    break
            if kind == "start":
                started[index] = pid
            else:
                done[index] = payload
    except (KeyboardInterrupt, Interrupted):
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(STOP_GRACE)
        raise
    for process in processes:
        process.join()
    lost = [index for index in range(len(items)) if index not in done]
    # A worker that died left its run "running": its pid is gone, so it is recorded now.
    crashed = recovery.recover(runner.jobs, timezone.now()) if lost else []
    outcomes: list[Outcome] = []
    for index, item in enumerate(items):
        if index in done:
            outcomes.extend(done[index])
            continue
        mine = [o for o in crashed if o.code == item.code]
        if not mine:
            exitcode = next((p.exitcode for p in processes if p.pid == started.get(index)), None)
            message = f"worker process died (exit status {exitcode}) before it claimed a run"
            logger.error("%s: %s", item.code, message)
            mine = [Outcome(item.code, runner.now, 0, Run.Status.CRASHED, 0.0, message)]
        outcomes.extend(mine)
    return outcomes


def _work(runner: Runner, items: list[Planned], tasks: Any, results: Any) -> None:
    """A worker: run items from ``tasks`` until the ``None`` that ends the queue."""
    with queries_stopped_on(signal.SIGTERM, signal.SIGINT):  # the parent's watcher thread did not fork
        _take_tasks(runner, items, tasks, results)


def _take_tasks(runner: Runner, items: list[Planned], tasks: Any, results: Any) -> None:
    pid = os.getpid()
    index = None
    try:
        while (index := tasks.get()) is not None:
            results.put(("start", index, pid, None))
            try:
                outcomes = runner.run_one(items[index])
            except Exception as exc:  # e.g. the database went away while settling
                logger.error("%s: %s", items[index].code, exc, exc_info=True)
                outcomes = [Outcome(items[index].code, runner.now, 0, Run.Status.FAILED, 0.0, f"{exc}")]
            results.put(("done", index, pid, outcomes))
    except (KeyboardInterrupt, Interrupted) as exc:
        abandon_claims()
        results.close()
        results.join_thread()
        sys.exit(128 + getattr(exc, "signum", signal.SIGINT))
    finally:
        heartbeat.get().stop()
        connections.close_all()
