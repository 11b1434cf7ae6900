"""The moment runcrons reads once per invocation; tests can freeze it (:mod:`cronjobs.testing`)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

_frozen: datetime | None = None


def now() -> datetime:
    """The current moment (aware, UTC), or the frozen one while a test holds the clock."""
    return _frozen if _frozen is not None else timezone.now()


def frozen() -> bool:
    """Whether a test holds the clock (then nothing waits for real time to pass)."""
    return _frozen is not None


def freeze(at: datetime | None) -> None:
    """Hold the clock at ``at`` (aware); None lets it run again."""
    global _frozen
    if at is not None and timezone.is_naive(at):
        raise ValueError(f"the clock needs an aware datetime, not {at!r}")
    _frozen = at
