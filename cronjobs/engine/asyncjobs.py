"""``async def run()``: a job's coroutine on an event loop, with the same transaction, timeout and records.

The coroutine runs on an event loop in a helper thread (asgiref's ``async_to_sync``, as Django
runs async views); runcrons' own thread waits and serves the coroutine's synchronous calls. So
the ORM, called the way Django's async docs say (``await sync_to_async(f)()``, thread-sensitive
by default, or the ORM's own ``a*`` methods such as ``aget``/``acreate``, which use it), runs on
runcrons' thread, on its connection, inside the job's transaction: what it wrote commits with the
run's record or rolls back with it. Calling the ORM directly from the coroutine raises Django's
``SynchronousOnlyOperation``; ``sync_to_async(..., thread_sensitive=False)`` runs on another
connection, outside the transaction.

A timeout, a lost lease or SIGTERM stops runcrons' thread as for a synchronous job (the running
query interrupted, the exception raised there). The coroutine is then cancelled
(``asyncio.CancelledError`` at its current ``await``) and given :data:`CANCEL_GRACE` seconds to
unwind, its synchronous calls still served meanwhile (inside the transaction that then rolls
back), before the run is recorded.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, InvalidStateError
from typing import Any

from asgiref.sync import AsyncToSync, async_to_sync

#: Seconds a cancelled coroutine has to unwind before the run is recorded anyway.
CANCEL_GRACE = 5.0


def is_async(run: Callable[..., Any]) -> bool:
    """Whether ``run`` is a coroutine function (``async def``)."""
    return inspect.iscoroutinefunction(run)


def call(run: Callable[[], Awaitable[Any]]) -> Any:
    """Await ``run()`` on an event loop; returns its result or raises what stopped it (see the module)."""
    state: dict[str, Any] = {}
    finished: Future[None] = Future()

    async def main() -> Any:
        state["loop"] = asyncio.get_running_loop()
        state["task"] = asyncio.current_task()
        try:
            return await run()
        finally:
            _settle(finished)

    try:
        return async_to_sync(main)()
    except BaseException:
        _cancel(state, finished)
        raise


def _cancel(state: dict[str, Any], finished: Future[None]) -> None:
    """Cancel the coroutine after this thread was stopped, and serve its calls while it unwinds."""
    loop, task = state.get("loop"), state.get("task")
    if loop is None or task is None or finished.done():
        return
    executor = AsyncToSync.loop_thread_executors.get(loop)
    loop.call_soon_threadsafe(task.cancel)
    timer = threading.Timer(CANCEL_GRACE, _settle, args=(finished,))
    timer.daemon = True
    timer.start()
    try:
        if executor is not None:
            executor.run_until_future(finished)  # then it refuses further calls
        else:
            finished.result()
    finally:
        timer.cancel()


def _settle(finished: Future[None]) -> None:
    try:
        finished.set_result(None)
    except InvalidStateError:  # the coroutine ended and the grace ran out at the same moment
        pass
