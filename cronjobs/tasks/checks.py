"""System checks of the tasks part: ``CRONJOBS`` keys for draining and each DatabaseBackend's options."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from typing import Any

import django
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.db import connections, router

from cronjobs import conf

TAG = "cronjobs"


@register(TAG)
def check_tasks(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from cronjobs.tasks.worker import backend_aliases

    errors: list[CheckMessage] = []
    values = conf.get_settings()
    for key, hint, limit in (
        (
            "TASKS_BUDGET",
            "The default is 45 seconds; keep it well under a minute, cron starts runcrons every minute.",
            60,
        ),
        ("TASKS_POLL_INTERVAL", "The default is 1 second.", None),
    ):
        value = values[key]
        if not isinstance(value, timedelta) or value <= timedelta(0) or (limit and value >= timedelta(seconds=limit)):
            bound = f" under {limit} seconds" if limit else ""
            errors.append(
                Error(
                    f"CRONJOBS[{key!r}] is {value!r}, not a positive timedelta{bound}.", hint=hint, id="cronjobs.E052"
                )
            )
    if not isinstance(values["TASKS_DURABLE_BOOKKEEPING"], bool):
        errors.append(
            Error(
                f"CRONJOBS['TASKS_DURABLE_BOOKKEEPING'] is {values['TASKS_DURABLE_BOOKKEEPING']!r}.",
                hint="Use True or False (default).",
                id="cronjobs.E057",
            )
        )
    batch = values["TASKS_BATCH_SIZE"]
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 1000:
        errors.append(
            Error(
                f"CRONJOBS['TASKS_BATCH_SIZE'] is {batch!r}, not a whole number from 1 to 1000.",
                hint="The default is 32; 1 claims one task at a time.",
                id="cronjobs.E180",
            )
        )
    keep = values["KEEP_TASK_RESULTS"]
    if keep is not None and (not isinstance(keep, timedelta) or keep < timedelta(0)):
        errors.append(
            Error(
                f"CRONJOBS['KEEP_TASK_RESULTS'] is {keep!r}.",
                hint="Use a timedelta (default 7 days), or None to keep finished tasks.",
                id="cronjobs.E053",
            )
        )
    aliases = backend_aliases()
    if not aliases:
        return errors
    if django.VERSION < (6, 0) and importlib.util.find_spec("django_tasks") is None:
        errors.append(
            Error(
                f"cronjobs.tasks.DatabaseBackend needs Django's Tasks API, which Django {django.get_version()} lacks.",
                hint='pip install "cronjobs[tasks]" (the django-tasks backport), or use Django 6.',
                id="cronjobs.E054",
            )
        )
        return errors  # nothing else can be checked without it
    from cronjobs.tasks.options import DEFAULTS, validate

    for alias in aliases:
        params = settings.TASKS[alias]
        options = params.get("OPTIONS") or {}
        if not isinstance(options, dict):
            errors.append(
                Error(
                    f"TASKS[{alias!r}]['OPTIONS'] must be a dict.",
                    hint=f"Got {type(options).__name__}.",
                    id="cronjobs.E050",
                )
            )
            continue
        for problem in validate(options):
            errors.append(
                Error(
                    f"TASKS[{alias!r}]['OPTIONS']: {problem}.",
                    hint="See https://cronjobs.readthedocs.io/en/latest/howto/tasks.html (Options).",
                    id="cronjobs.E050",
                )
            )
        for key in sorted(set(options) - set(DEFAULTS)):
            errors.append(
                Error(
                    f"TASKS[{alias!r}]['OPTIONS'] has an unknown key {key!r}.",
                    hint=f"Accepted keys: {', '.join(sorted(DEFAULTS))}.",
                    id="cronjobs.E051",
                )
            )
    connection = connections[router.db_for_write(_model())]
    if connection.vendor == "sqlite":
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 35):
            errors.append(
                Error(
                    "cronjobs.tasks.DatabaseBackend needs SQLite 3.35 or later; "
                    f"this Python has {sqlite3.sqlite_version}.",
                    hint="Claims use UPDATE ... RETURNING. Upgrade SQLite (or the Python linked to it).",
                    id="cronjobs.E055",
                )
            )
    return errors


def _model() -> Any:
    from cronjobs.tasks.models import QueuedTask

    return QueuedTask
