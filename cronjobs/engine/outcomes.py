"""What became of the runs of one invocation (:class:`Outcome`), and what a dry run would do (:class:`Preview`)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable
from datetime import datetime

from cronjobs.models import FAILURES, Run


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one run, as recorded."""

    code: str
    slot: datetime
    attempt: int
    status: str
    """A :class:`Run.Status <cronjobs.models.runs.Run.Status>` value."""
    duration: float
    message: str
    run_id: int | None = None
    lock_error: str | None = None
    """Why the job's lock could not be taken, when its backend failed (not: held by another)."""
    forced: bool = False
    retryable: bool = True
    """False when the job's ``retry_on`` does not name the error it failed with."""

    @property
    def failed(self) -> bool:
        return self.status in FAILURES

    @classmethod
    def of(cls, run: Run, *, lock_error: str | None = None) -> Outcome:
        """The outcome a recorded run stands for."""
        return cls(
            run.job_id,
            run.slot,
            run.attempt,
            Run.Status(run.status),
            run.duration or 0.0,
            run.message,
            run.pk,
            lock_error,
            run.forced,
        )


class Intent(enum.Enum):
    RUN = "run"
    MISS = "record as missed"


@dataclasses.dataclass(frozen=True)
class Preview:
    """What the runner would do with one slot (``runcrons --dry-run``); nothing is changed."""

    code: str
    slot: datetime
    intent: Intent
    attempt: int = 1
    reason: str = ""
    """Why it is due: ``"schedule"``, ``"forced"``, ``"requested"``, ``"retry"``."""


#: Who is told of each outcome as this process learns it (runcrons writes its line at once).
_listeners: list[Callable[[Outcome], None]] = []


def listen(listener: Callable[[Outcome], None]) -> Callable[[], None]:
    """Call ``listener(outcome)`` for each run that ends in this process's invocation (run by its
    work horse, stopped by it, or run by one of its ``--workers`` processes); returns how to stop."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def announce(outcomes: Iterable[Outcome]) -> None:
    for outcome in outcomes:
        for listener in list(_listeners):
            listener(outcome)
