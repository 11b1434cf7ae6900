"""``async def run()``: a job's coroutine on an event loop, with the same transaction and records.

The coroutine runs on an event loop in a helper thread (asgiref's ``async_to_sync``, as Django
runs async views); the work horse's main thread waits and serves the coroutine's synchronous
calls. So the ORM, called the way Django's async docs say (``await sync_to_async(f)()``,
thread-sensitive by default, or the ORM's own ``a*`` methods such as ``aget``/``acreate``, which
use it), runs on the main thread, on its connection, inside the job's transaction: what it wrote
commits with the run's record or rolls back with it. Calling the ORM directly from the coroutine
raises Django's ``SynchronousOnlyOperation``; ``sync_to_async(..., thread_sensitive=False)``
runs on another connection, outside the transaction. A timeout kills the work horse, coroutine
and all (:mod:`cronjobs.engine.supervisor`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync


def is_async(run: Callable[..., Any]) -> bool:
    """Whether ``run`` is a coroutine function (``async def``)."""
    return inspect.iscoroutinefunction(run)


def call(run: Callable[[], Awaitable[Any]]) -> Any:
    """Await ``run()`` on an event loop; returns its result or raises its exception."""
    return async_to_sync(run)()
