"""What a task's attempt can end with besides its own exceptions (recorded in its ``errors``)."""

from __future__ import annotations


class TaskTimeout(BaseException):
    """Raised inside a task that ran past its timeout (a BaseException: ``except Exception`` cannot keep it)."""


class WorkerLost(Exception):
    """Recorded for an attempt whose worker stopped answering: it died, or hung past its lease."""


class LostAttempt(Exception):
    """The attempt was recovered by another worker while this one ran it: its work must not commit."""
