"""Conditions a slot must meet to run: ``environments``, ``between``, ``unless_between``, ``should_run(slot)``.

Pure apart from ``should_run`` (the user's code): a slot that does not meet them is recorded as
``skipped`` with the reason as its message, and counts as settled (it is not run later). The
windows are read in the job's zone, at the slot's time (not at the moment it runs: a late or
jittered start does not change the verdict). Forced runs (``--force``, "run now") skip the
conditions: a person asked for that run.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from cronjobs import conf
from cronjobs.jobs import BaseCronJob


class ConditionError(Exception):
    """``should_run`` raised: the slot is recorded as failed with this."""


def parse_time(text: str) -> time:
    """``"HH:MM"`` (or ``"HH:MM:SS"``) as a time; ValueError when it is not one."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a string like '08:00'")
    return time.fromisoformat(text)


def parse_window(window: object) -> tuple[time, time]:
    """A ``(start, end)`` pair of ``"HH:MM"`` strings; ValueError when it is not one."""
    if not isinstance(window, (tuple, list)) or len(window) != 2:
        raise ValueError(f"{window!r} is not a pair like ('08:00', '18:00')")
    start, end = parse_time(window[0]), parse_time(window[1])
    if start == end:
        raise ValueError(f"{window!r} is an empty window (start equals end)")
    return start, end


def in_window(moment: time, window: tuple[time, time]) -> bool:
    """Whether ``moment`` falls in ``[start, end)``; a window with end before start spans midnight."""
    start, end = window
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def static_reason(job_cls: type[BaseCronJob], slot: datetime, environment: str | None) -> str | None:
    """Why ``slot`` is skipped by the job's attributes, or None when they let it run."""
    if job_cls.environments is not None and environment not in job_cls.environments:
        listed = ", ".join(job_cls.environments) or "none"
        return f"environment {environment!r} is not one of the job's environments ({listed})"
    if job_cls.between is None and job_cls.unless_between is None:
        return None
    local = slot.astimezone(ZoneInfo(job_cls.get_timezone()))
    clock = local.time().replace(tzinfo=None)
    if job_cls.between is not None and not in_window(clock, parse_window(job_cls.between)):
        start, end = job_cls.between
        return f"{local:%H:%M} {job_cls.get_timezone()} is outside between = ({start!r}, {end!r})"
    if job_cls.unless_between is not None and in_window(clock, parse_window(job_cls.unless_between)):
        start, end = job_cls.unless_between
        return f"{local:%H:%M} {job_cls.get_timezone()} is inside unless_between = ({start!r}, {end!r})"
    return None


def skip_reason(job_cls: type[BaseCronJob], slot: datetime, attempt: int) -> str | None:
    """Why the job does not run ``slot``, or None when it runs. Raises :class:`ConditionError`
    when ``should_run`` raised."""
    reason = static_reason(job_cls, slot, conf.get("ENVIRONMENT"))
    if reason is not None:
        return reason
    if job_cls.should_run is BaseCronJob.should_run:
        return None
    job = job_cls()
    job.slot, job.attempt, job.forced = slot, attempt, False
    try:
        verdict = job.should_run(slot)
    except Exception as exc:
        raise ConditionError(f"should_run raised {type(exc).__name__}: {exc}") from exc
    return None if verdict else "should_run(slot) returned False"
