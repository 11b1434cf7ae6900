"""The one fork pool of runcrons: ``--workers N`` runs due jobs, and drains tasks, in N processes.

The parent closes its database connections and forks; each child opens its own, does its
share of the work and sends back what it returned. Each child is a supervisor of its own, with
its own work horse (:mod:`cronjobs.engine.supervisor`). The parent passes SIGTERM (or Ctrl-C)
on to the children, which stop cleanly (their work horses killed, their work rolled back and
recorded as interrupted), waits for them at most the stop grace plus :data:`STOP_GRACE` (then
kills them), and reports children that died (a SIGKILL, the OOM killer) with their exit
status, so that the caller can tell whose work was lost. A child stopped while it had nothing
running exits 0 (``runcrons --loop`` stopped while idle).

Children die with their parent: a parent that is killed (SIGKILL, the OOM killer) leaves no
orphan draining on. On Linux the kernel sends each child SIGTERM when its parent dies
(``PR_SET_PDEATHSIG``); everywhere, a thread in each child sees its parent pid change within
:data:`PARENT_POLL` seconds and does the same. A child that does not stop within
:data:`STOP_GRACE` after that kills itself. Its runs and tasks are recorded, or given back,
as on any SIGTERM.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connections

from cronjobs.engine import stops
from cronjobs.exceptions import Interrupted

logger = logging.getLogger("cronjobs")

#: How long the parent waits for its children after passing a signal on (seconds).
STOP_GRACE = 30.0

#: How often a child looks whether its parent is still there (seconds), where the kernel does
#: not tell it.
PARENT_POLL = 1.0
#: ``prctl(2)`` option: the signal a process gets when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1

_context = multiprocessing.get_context("fork")


@dataclasses.dataclass
class Child:
    """One forked process and what came of it."""

    index: int
    pid: int | None
    result: Any = None
    """What its work returned (None when it died or was stopped first)."""
    messages: list[Any] = dataclasses.field(default_factory=list)
    """What it sent along the way, in order."""
    exitcode: int | None = None


class Channel:
    """How a child tells its parent something before it is done (e.g. which item it took)."""

    def __init__(self, results: Any, index: int) -> None:
        self._results = results
        self.index = index

    def send(self, message: Any) -> None:
        self._results.put(("message", self.index, message))


def shared_queue() -> Any:
    """A queue the children can take items from (make it before :func:`fork`)."""
    return _context.SimpleQueue()


def fork(count: int, work: Callable[[Channel], Any], on_message: Callable[[Any], None] | None = None) -> list[Child]:
    """Run ``work(channel)`` in ``count`` forked processes and wait for them all; ``on_message``
    is called with what a child sends along the way, as it comes.

    Re-raises the parent's own ``KeyboardInterrupt`` or :class:`Interrupted` after the
    children have stopped.
    """
    results: Any = _context.Queue()
    connections.close_all()  # each child opens its own
    parent = os.getpid()
    processes = [
        _context.Process(target=_child, args=(index, work, results, parent), name=f"cronjobs-worker-{index}")
        for index in range(count)
    ]
    for process in processes:
        process.start()
    children = [Child(index, process.pid) for index, process in enumerate(processes)]
    finished: set[int] = set()
    try:
        while len(finished) < count:
            stops.check()
            try:
                kind, index, payload = results.get(timeout=0.2)
            except queue.Empty:
                if any(p.is_alive() for p in processes):
                    continue
                try:  # every child has exited: read what is left, then stop
                    kind, index, payload = results.get(timeout=1)
                except queue.Empty:
                    break
            if kind == "message":
                children[index].messages.append(payload)
                if on_message is not None:
                    on_message(payload)
            else:
                children[index].result = payload
                finished.add(index)
    except (KeyboardInterrupt, Interrupted):
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        from cronjobs.engine.supervisor import stop_grace

        grace = stop_grace() + STOP_GRACE
        deadline = time.monotonic() + grace
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():  # its runs and tasks are recovered after their leases
                logger.error("worker process %s did not stop within %ss: killed", process.pid, grace)
                process.kill()
                process.join()
        global stopped_idle
        stopped_idle = all(process.exitcode == 0 for process in processes)
        raise
    for child, process in zip(children, processes, strict=True):
        process.join()
        child.exitcode = process.exitcode
        if process.exitcode != 0:
            logger.error("worker process %s exited with status %s", process.pid, process.exitcode)
    return children


#: After :func:`fork` was stopped: every child had stopped with nothing running (exit status 0).
stopped_idle = False


def _child(index: int, work: Callable[[Channel], Any], results: Any, parent: int) -> None:
    status = 0
    try:
        with stops.in_forked_supervisor():
            die_with_parent(parent)
            results.put(("result", index, work(Channel(results, index))))
    except (KeyboardInterrupt, Interrupted) as exc:
        status = 128 + getattr(exc, "signum", signal.SIGINT)
    except Exception:
        logger.exception("worker process %s failed", os.getpid())
        status = 1
    finally:
        connections.close_all()
        results.close()
        results.join_thread()
    sys.exit(status)


def die_with_parent(parent: int) -> None:
    """Make this (forked) process stop when ``parent`` dies: SIGTERM, then SIGKILL after
    :data:`STOP_GRACE` (see the module's doc). Call it first thing in the child."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl here: the thread below still watches
            pass
    threading.Thread(target=_watch_parent, args=(parent,), name="cronjobs-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:  # the parent died before the prctl too: seen on the first look
        time.sleep(PARENT_POLL)
    logger.error("worker process %s: its parent %s is gone; stopping", os.getpid(), parent)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_GRACE)
    os.kill(os.getpid(), signal.SIGKILL)
