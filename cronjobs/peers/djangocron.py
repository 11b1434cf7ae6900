"""django-cron's ``CRON_CLASSES``: its ``CronJobBase`` classes run unchanged by this engine.

Each class listed in ``settings.CRON_CLASSES`` becomes a :class:`DjangoCronJob`: each slot makes
an instance and calls its ``do()``, whose return value is the run's message. What is read, and
what it becomes (django-cron 0.6):

- ``code`` → ``code``; ``ALLOW_PARALLEL_RUNS = True`` → ``overlap = "allow"``.
- ``schedule = Schedule(...)`` (or, without one, the ``RUN_EVERY_MINS`` and ``RUN_AT_TIMES``
  attributes): ``run_every_mins`` that divides an hour → ``*/N * * * *``, any other → an
  ``interval`` of N minutes; ``run_at_times`` → a cron expression per minute of the hour they
  use (``["6:30", "18:30"]`` → ``30 6,18 * * *``); ``run_on_days`` (0 = Monday) → the
  day-of-week field, ``run_monthly_on_days`` → the day-of-month field;
  ``retry_after_failure_mins`` → ``retry_delay``, with as many ``retries`` as fit in a period.
- ``MIN_NUM_FAILURES`` (django-cron's failure mail after N failures in a row) has no
  counterpart: with ``CRONJOBS["MAIL_ADMINS"]`` the first failed slot of a streak mails.

Several schedules at once (``run_at_times`` at different minutes, or with ``run_every_mins``)
are one :class:`~cronjobs.schedules.AnySchedule`. The classes need only ``django_cron``'s
``CronJobBase`` and ``Schedule`` to be importable; ``django_cron`` itself is not an installed app.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from cronjobs.jobs import BaseCronJob
from cronjobs.schedules import AnySchedule, CronSchedule, IntervalSchedule, Schedule


@dataclasses.dataclass(frozen=True)
class Read:
    """What was made of ``CRON_CLASSES``."""

    jobs: list[type[BaseCronJob]]
    errors: list[str]
    """Each class that could not be mapped, with the reason."""
    notes: list[str]
    """What was read but means something else here (``MIN_NUM_FAILURES``)."""


class DjangoCronJob(BaseCronJob):
    """A django-cron class on this engine: each slot calls ``peer().do()``."""

    abstract = True
    peer: ClassVar[type]
    """The django-cron class."""
    expressions: ClassVar[tuple[str, ...]] = ()
    every: ClassVar[timedelta | None] = None
    """``run_every_mins`` that does not divide an hour, beside ``expressions``."""

    def run(self) -> str | None:
        result = self.peer().do()
        return None if result is None else str(result)

    @classmethod
    def get_schedule(cls) -> Schedule:
        if len(cls.expressions) + (cls.every is not None) < 2:
            return super().get_schedule()
        parts: list[Schedule] = [CronSchedule(e, cls.get_timezone()) for e in cls.expressions]
        return AnySchedule((*parts, *([IntervalSchedule(cls.every)] if cls.every else [])))


@functools.cache
def read() -> Read:
    """The jobs of ``settings.CRON_CLASSES`` (cached)."""
    paths: Any = getattr(settings, "CRON_CLASSES", None)
    if paths is None:
        return Read([], [], [])
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, str) for p in paths):
        return Read([], ["CRON_CLASSES must be a list of dotted paths of django-cron classes"], [])
    jobs: list[type[BaseCronJob]] = []
    errors: list[str] = []
    notes: list[str] = []
    for path in paths:
        try:
            peer = import_string(path)
        except ImportError as exc:
            errors.append(f"CRON_CLASSES: {path!r} cannot be imported: {exc}")
            continue
        try:
            attributes = _attributes(peer)
        except ValueError as exc:
            errors.append(f"CRON_CLASSES: {path}: {exc}")
            continue
        if getattr(peer, "MIN_NUM_FAILURES", None) is not None:
            notes.append(f"{path}: MIN_NUM_FAILURES {peer.MIN_NUM_FAILURES!r} is not used")
        namespace = {
            **attributes,
            "peer": peer,
            "__module__": peer.__module__,
            "__qualname__": peer.__qualname__,
            "__doc__": peer.__doc__,
        }
        jobs.append(type(peer.__name__, (DjangoCronJob,), namespace))
    return Read(jobs, errors, notes)


def _attributes(peer: Any) -> dict[str, Any]:
    """The job class attributes of a django-cron class; ValueError says why it cannot be mapped."""
    if not isinstance(peer, type) or not callable(getattr(peer, "do", None)):
        raise ValueError("is not a django-cron class (a CronJobBase subclass with a do() method)")
    code = getattr(peer, "code", None)
    if not isinstance(code, str) or not code:
        raise ValueError("has no code (django-cron requires one: code = 'my_app.my_cron_job')")
    schedule = getattr(peer, "schedule", None)
    if schedule is not None:
        every, at_times = getattr(schedule, "run_every_mins", None), getattr(schedule, "run_at_times", None)
        retry = getattr(schedule, "retry_after_failure_mins", None)
        weekdays, monthdays = getattr(schedule, "run_on_days", None), getattr(schedule, "run_monthly_on_days", None)
    else:  # no Schedule: the attributes django-cron's examples build it from
        every, at_times = getattr(peer, "RUN_EVERY_MINS", None), getattr(peer, "RUN_AT_TIMES", None)
        retry = weekdays = monthdays = None
    days = _days(weekdays, monthdays)
    expressions: list[str] = []
    interval = None
    if every is not None:
        if not _positive(every):
            raise ValueError(f"run_every_mins must be a positive whole number of minutes, not {every!r}")
        if 60 % every == 0:
            expressions.append(f"{'*' if every == 1 else '0' if every == 60 else f'*/{every}'} * {days}")
        elif days != "* * *":
            raise ValueError(
                f"run_every_mins {every} does not divide an hour, so it is an interval here, and an interval "
                "cannot keep to run_on_days or run_monthly_on_days: use a divisor of 60, or write a job class"
            )
        else:
            interval = timedelta(minutes=every)
    expressions.extend(f"{minute} {hours} {days}" for minute, hours in _at_times(at_times or []))
    if not expressions and interval is None:
        raise ValueError("has neither run_every_mins nor run_at_times: schedule = Schedule(run_every_mins=5)")
    attributes: dict[str, Any] = {"code": code}
    if len(expressions) == 1 and interval is None:
        attributes["schedule"] = expressions[0]
    elif not expressions:
        attributes["interval"] = interval
    else:
        attributes["schedule"] = "; ".join([*expressions, *([f"every {every} minutes"] if interval else [])])
        attributes.update(expressions=tuple(expressions), every=interval)
    if retry:
        if not _positive(retry):
            raise ValueError(f"retry_after_failure_mins must be a positive whole number, not {retry!r}")
        attributes.update(retry_delay=timedelta(minutes=retry), retries=max(1, (every or 24 * 60) // retry - 1))
    if getattr(peer, "ALLOW_PARALLEL_RUNS", False):
        attributes["overlap"] = "allow"
    return attributes


def _at_times(times: Any) -> list[tuple[int, str]]:
    """``["11:30", "6:30", "14:00"]`` as (minute, hours) pairs: ``[(0, "14"), (30, "6,11")]``."""
    if isinstance(times, str) or not isinstance(times, (list, tuple)):
        raise ValueError(f"run_at_times must be a list of 'HH:MM' times, not {times!r}")
    by_minute: dict[int, set[int]] = defaultdict(set)
    for text in times:
        try:
            parsed = time.strptime(text, "%H:%M")  # as django-cron reads them
        except (TypeError, ValueError):
            raise ValueError(f"run_at_times has {text!r}, not an 'HH:MM' time") from None
        by_minute[parsed.tm_min].add(parsed.tm_hour)
    return [(minute, ",".join(map(str, sorted(hours)))) for minute, hours in sorted(by_minute.items())]


def _days(weekdays: Any, monthdays: Any) -> str:
    """The day-of-month, month and day-of-week fields."""
    if weekdays is not None and monthdays is not None:
        raise ValueError(
            "run_on_days and run_monthly_on_days together mean both here in django-cron, either in cron: "
            "keep one, or write a job class with should_run()"
        )
    if weekdays is not None:
        if not weekdays or not all(isinstance(d, int) and 0 <= d <= 6 for d in weekdays):
            raise ValueError(f"run_on_days must be weekdays from 0 (Monday) to 6, not {weekdays!r}")
        return "* * " + ",".join(map(str, sorted({(d + 1) % 7 for d in weekdays})))  # cron: 0 is Sunday
    if monthdays is not None:
        if not monthdays or not all(isinstance(d, int) and 1 <= d <= 31 for d in monthdays):
            raise ValueError(f"run_monthly_on_days must be days from 1 to 31, not {monthdays!r}")
        return ",".join(map(str, sorted(set(monthdays)))) + " * *"
    return "* * *"


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CRON_CLASSES", "TIME_ZONE", "INSTALLED_APPS"):
        read.cache_clear()
