"""Every job class: its schedule, zone, lock, options, database, command and task backend."""

from __future__ import annotations

import difflib
from collections import defaultdict
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.checks import CheckMessage, register

from cronjobs import locks, registry
from cronjobs.checks.base import TAG, error, where
from cronjobs.exceptions import ScheduleError
from cronjobs.jobs import CATCHUP_CHOICES, OVERLAP_CHOICES, BaseCronJob, CommandJob
from cronjobs.schedules import closest_zone, unlike_debian_cron


@register(TAG)
def check_jobs(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    by_code: dict[str, list[type[BaseCronJob]]] = defaultdict(list)
    for job in registry.discover().classes:
        by_code[job.get_code()].append(job)
        errors.extend(check_job(job))
    for code, classes in by_code.items():
        if len(classes) > 1:
            names = ", ".join(f"{c.__module__}.{c.__qualname__}" for c in classes)
            errors.append(
                error(
                    f"Job code {code!r} is used by {len(classes)} classes: {names}.",
                    "Give each job a distinct `code`.",
                    6,
                    classes[1],
                )
            )
    return errors


def check_job(job: type[BaseCronJob]) -> list[CheckMessage]:
    """The errors and warnings of one job class (also the rules of stored schedules: :mod:`cronjobs.stored`)."""
    errors: list[CheckMessage] = []

    def add(msg: str, hint: str, id: int) -> None:
        errors.append(error(f"{where(job)}: {msg}", hint, id, job))

    code = job.get_code()
    if not isinstance(code, str) or not code or len(code) > 191 or code.split() != [code]:
        add(f"code {code!r} is not usable.", "Use a non-empty string of at most 191 characters without spaces.", 15)
    if job.schedule is None and job.interval is None:
        add("has neither schedule nor interval.", "Set schedule = '*/5 * * * *' or interval = timedelta(...).", 2)
    elif job.schedule is not None and job.interval is not None:
        add("has both schedule and interval.", "Keep one of them.", 2)
    elif job.interval is not None:
        try:
            job.get_schedule()
        except ScheduleError as exc:
            add(f"bad interval: {exc}.", "Use a positive timedelta of whole seconds, e.g. timedelta(minutes=5).", 3)
    else:
        zone_ok = _zone_ok(job.get_timezone())
        if not zone_ok:
            close = closest_zone(job.get_timezone())
            add(
                f"unknown time zone {job.get_timezone()!r}.",
                (f"Did you mean {close!r}? " if close else "")
                + "Use an IANA zone name such as 'Europe/Berlin' (see zoneinfo.available_timezones()).",
                4,
            )
        else:
            try:
                schedule = job.get_schedule()
            except ScheduleError as exc:
                add(
                    f"bad schedule: {exc}.",
                    "Use five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, "
                    "@weekly, @monthly, @yearly.",
                    1,
                )
            else:
                errors.extend(_unlike_debian_cron(job, schedule))
    # An unknown CRONJOBS['LOCK'] is one settings error (E005), not one per job using it.
    if job.lock is not None and job.get_lock_name() not in locks.BACKENDS:
        add(
            f"unknown lock {job.get_lock_name()!r}.",
            f"Use one of {', '.join(repr(n) for n in locks.BACKENDS)}.",
            5,
        )
    if job.catchup not in CATCHUP_CHOICES:
        add(f"catchup is {job.catchup!r}.", f"Use one of {', '.join(map(repr, CATCHUP_CHOICES))}.", 7)
    if job.overlap not in OVERLAP_CHOICES:
        add(f"overlap is {job.overlap!r}.", f"Use one of {', '.join(map(repr, OVERLAP_CHOICES))}.", 8)
    if not isinstance(job.retries, int) or isinstance(job.retries, bool) or job.retries < 0:
        add(f"retries is {job.retries!r}.", "Use a whole number, 0 or more.", 9)
    if not isinstance(job.atomic, bool):
        add(f"atomic is {job.atomic!r}.", "Use True or False.", 9)
    for name, allow_none in (("retry_delay", False), ("timeout", True), ("lock_ttl", False)):
        value = getattr(job, name)
        if value is None and allow_none:
            continue
        if not isinstance(value, timedelta) or value < timedelta(0) or (name != "retry_delay" and not value):
            add(f"{name} is {value!r}.", "Use a positive datetime.timedelta.", 9)
    errors.extend(_check_database(job))
    if issubclass(job, CommandJob):
        errors.extend(_check_command(job))
    return errors


def _unlike_debian_cron(job: type[BaseCronJob], schedule: Any) -> list[CheckMessage]:
    """W023: ``#`` and ``L``, which cronjobs reads (cronsim) and Debian's cron does not."""
    from django.core.checks import Warning

    difference = unlike_debian_cron(getattr(schedule, "fields", ""))
    if difference is None:
        return []
    words = schedule.describe()
    return [
        Warning(
            f"{where(job)}: schedule {job.schedule!r} runs {words[:1].lower() + words[1:]}; {difference}.",
            hint="cronjobs reads the expression itself, so the job runs as said here (see `cronjobs list`). "
            "If you copied it from a crontab, check that this is what you want; then silence cronjobs.W023.",
            obj=job,
            id="cronjobs.W023",
        )
    ]


def _check_database(job: type[BaseCronJob]) -> list[CheckMessage]:
    """The job's ``database`` exists; an atomic job there is fenced only where runs are recorded too."""
    from django.core.checks import Warning
    from django.db import router

    from cronjobs.models import Run

    if not isinstance(job.database, str) or job.database not in settings.DATABASES:
        return [
            error(
                f"{where(job)}: database is {job.database!r}, not an alias in DATABASES.",
                f"Use one of {', '.join(map(repr, settings.DATABASES))} (the database its atomic run writes to).",
                17,
                job,
            )
        ]
    runs = router.db_for_write(Run)
    if job.atomic and job.database != runs:
        return [
            Warning(
                f"{where(job)}: its transaction is on {job.database!r} but runs are recorded on {runs!r}, "
                "so its success cannot commit with its work: after a crash or a lost lease its slot may run twice.",
                hint=f"Set database = {runs!r} if the job writes there, or silence cronjobs.W018 to accept "
                "at-least-once for this job.",
                obj=job,
                id="cronjobs.W018",
            )
        ]
    return []


def _check_command(job: type[CommandJob]) -> list[CheckMessage]:
    from django.core.management import get_commands

    if not job.command:
        return [error(f"{where(job)}: no command set.", "Set command = 'clearsessions' (for example).", 14, job)]
    commands = get_commands()
    if job.command not in commands:
        close = difflib.get_close_matches(str(job.command), sorted(commands), n=1)
        return [
            error(
                f"{where(job)}: unknown management command {job.command!r}.",
                (f"Did you mean {close[0]!r}? " if close else "") + "Run `manage.py help` for the list of commands.",
                14,
                job,
            )
        ]
    return []


def check_task_backend(job: type[BaseCronJob]) -> list[CheckMessage]:
    """E056: the job's ``task_backend`` is an alias of ``settings.TASKS``."""
    configured = getattr(settings, "TASKS", None) or {}
    alias = job.task_backend
    if alias is None or alias in configured:
        return []
    return [
        error(
            f"{where(job)}: task_backend is {alias!r}, which is not in settings.TASKS.",
            f"Use one of {', '.join(map(repr, configured)) or '(none configured)'}, or add it to TASKS.",
            56,
            job,
        )
    ]


def _zone_ok(name: str) -> bool:
    try:
        ZoneInfo(name)
    except Exception:
        return False
    return True


@register(TAG)
def check_task_backends(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Jobs that hand their work to a Tasks backend name one that exists; cronjobs' own backend
    needs its app installed."""
    from django.apps import apps

    errors: list[CheckMessage] = []
    configured = getattr(settings, "TASKS", None) or {}
    for job in registry.discover().classes:
        errors.extend(check_task_backend(job))
    if not apps.is_installed("cronjobs.tasks"):
        for alias, params in configured.items():
            backend = str(params.get("BACKEND", "")) if isinstance(params, dict) else ""
            if backend.startswith("cronjobs.tasks."):
                errors.append(
                    error(
                        f"TASKS[{alias!r}] uses {backend}, but the app 'cronjobs.tasks' is not installed.",
                        "Add 'cronjobs.tasks' to INSTALLED_APPS (after 'cronjobs') and run `manage.py migrate`.",
                        58,
                    )
                )
    return errors
