"""How a task is run: its timeout, how many attempts it gets, how far apart, and whether it is atomic.

Defaults come from the backend's ``OPTIONS``; a task function overrides them with
:func:`task_options`. Django's ``@task`` decorator takes no options of its own for these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

from cronjobs.tasks_api import OPTIONS_ATTRIBUTE as ATTRIBUTE

F = TypeVar("F")


#: Every accepted key of a DatabaseBackend's ``OPTIONS`` and its default.
DEFAULTS: dict[str, Any] = {
    # A task running longer than this is stopped and its attempt recorded as failed.
    "TIMEOUT": timedelta(minutes=10),
    # Attempts a task gets in all (1: no retry). A failure, a timeout or a dead worker uses one.
    "MAX_ATTEMPTS": 1,
    # The first retry waits this long; each further one BACKOFF times longer, at most MAX_RETRY_DELAY.
    "RETRY_DELAY": timedelta(seconds=10),
    "BACKOFF": 2.0,
    "MAX_RETRY_DELAY": timedelta(hours=1),
    # A task still RUNNING this long past its timeout lost its worker: it is retried or failed.
    "LEASE_GRACE": timedelta(seconds=30),
    # Run each task inside transaction.atomic(): a failure rolls its writes back.
    "ATOMIC": True,
}

#: The keys :func:`task_options` accepts, and the ``OPTIONS`` key each overrides.
PER_TASK = {
    "timeout": "TIMEOUT",
    "max_attempts": "MAX_ATTEMPTS",
    "retry_delay": "RETRY_DELAY",
    "backoff": "BACKOFF",
    "max_retry_delay": "MAX_RETRY_DELAY",
    "atomic": "ATOMIC",
}


@dataclasses.dataclass(frozen=True)
class Policy:
    """The options one task runs with."""

    timeout: timedelta
    """Stop the task past this."""
    max_attempts: int
    """Attempts in all, the first included."""
    retry_delay: timedelta
    """Wait before the first retry."""
    backoff: float
    """Each further retry waits this many times longer."""
    max_retry_delay: timedelta
    """No retry waits longer than this."""
    atomic: bool
    """Run inside ``transaction.atomic()``."""

    def delay(self, attempt: int) -> timedelta:
        """How long after failed attempt number ``attempt`` (1-based) the next one becomes ready."""
        seconds = self.retry_delay.total_seconds() * self.backoff ** max(attempt - 1, 0)
        return min(timedelta(seconds=seconds), self.max_retry_delay)


def task_options(
    *,
    timeout: timedelta | None = None,
    max_attempts: int | None = None,
    retry_delay: timedelta | None = None,
    backoff: float | None = None,
    max_retry_delay: timedelta | None = None,
    atomic: bool | None = None,
) -> Callable[[F], F]:
    """Set how a task runs, over the backend's ``OPTIONS``. Put it under ``@task``::

    @task(queue_name="mail")
    @task_options(max_attempts=5, retry_delay=timedelta(seconds=30), timeout=timedelta(minutes=1))
    def send_welcome(user_id): ...
    """
    given = {
        "timeout": timeout,
        "max_attempts": max_attempts,
        "retry_delay": retry_delay,
        "backoff": backoff,
        "max_retry_delay": max_retry_delay,
        "atomic": atomic,
    }
    chosen = {PER_TASK[name]: value for name, value in given.items() if value is not None}
    names = {key: name for name, key in PER_TASK.items()}
    problems = validate(chosen, prefix="task_options: ", names=names)
    if problems:
        raise ValueError("; ".join(problems))

    def decorate(function: F) -> F:
        from cronjobs.tasks_api import Task

        target = function.func if isinstance(function, Task) else function
        setattr(target, ATTRIBUTE, {**getattr(target, ATTRIBUTE, {}), **chosen})
        return function

    return decorate


def policy_for(task: Any, backend_options: Mapping[str, Any]) -> Policy:
    """The options ``task`` runs with on a backend whose ``OPTIONS`` are ``backend_options``."""
    merged = {**DEFAULTS, **backend_options, **getattr(task.func, ATTRIBUTE, {})}
    return Policy(
        timeout=merged["TIMEOUT"],
        max_attempts=merged["MAX_ATTEMPTS"],
        retry_delay=merged["RETRY_DELAY"],
        backoff=float(merged["BACKOFF"]),
        max_retry_delay=merged["MAX_RETRY_DELAY"],
        atomic=merged["ATOMIC"],
    )


def validate(options: Mapping[str, Any], prefix: str = "", names: Mapping[str, str] | None = None) -> list[str]:
    """What is wrong with these option values (empty: nothing); ``names`` spells the keys."""
    problems = []
    for key, value in options.items():
        if key not in DEFAULTS:
            continue
        name = (names or {}).get(key, key)
        if key in ("TIMEOUT", "RETRY_DELAY", "MAX_RETRY_DELAY", "LEASE_GRACE"):
            positive = key in ("TIMEOUT", "LEASE_GRACE")
            if not isinstance(value, timedelta) or value < timedelta(0) or (positive and not value):
                problems.append(
                    f"{prefix}{name} is {value!r}, not a {'positive' if positive else 'non-negative'} timedelta"
                )
        elif key == "MAX_ATTEMPTS":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{prefix}{name} is {value!r}, not a whole number of at least 1")
        elif key == "BACKOFF":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 1:
                problems.append(f"{prefix}{name} is {value!r}, not a number of at least 1")
        elif key == "ATOMIC" and not isinstance(value, bool):
            problems.append(f"{prefix}{name} is {value!r}, not True or False")
    return problems
