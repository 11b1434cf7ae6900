"""Where jobs come from: every app's ``cron.py`` imports, every job class can run, and
``@cron(...)`` is above ``@task`` where it decorates a task.

A ``cron.py`` that raises on import (a SyntaxError, an ImportError, anything) is reported here
with its app and file, and only its own jobs are missing: the other apps' jobs are still
registered, and ``runcrons`` runs them before it exits 2 (see
:func:`cronjobs.management.commands.runcrons.Command._check`).
"""

from __future__ import annotations

import sys
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Warning, register

from cronjobs import registry
from cronjobs.checks.base import TAG, error, where
from cronjobs.decorator import FunctionJob, is_task
from cronjobs.jobs import BaseCronJob

#: The id of a broken ``cron.py``; runcrons runs the other apps' jobs despite it.
BROKEN_MODULE = "cronjobs.E121"


@register(TAG)
def check_modules(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for broken in registry.discover().broken:
        messages.append(
            error(
                f"App {broken.app_label!r}: {broken.file} cannot be imported: {broken.error}.",
                f"Fix {broken.module}; until then its jobs do not run (the other apps' jobs do).",
                121,
            )
        )
    found = registry.discover()
    if not found.classes and not found.broken and not found.errors and not _drains_tasks():
        messages.append(
            Warning(
                "No cron jobs are registered, so runcrons has nothing to do.",
                hint="Write BaseCronJob subclasses in <app>/cron.py of an installed app (`manage.py startcronjob "
                "APP NAME` makes one), or list them in CRONJOBS['JOBS']. A shared base class sets abstract = True "
                "and is not a job itself.",
                id="cronjobs.W121",
            )
        )
    for job in found.classes:
        if job.run is BaseCronJob.run:
            messages.append(
                error(
                    f"{where(job)}: defines no run() method.",
                    "Define run(self) with the job's work; for a base class that other jobs share, set "
                    "abstract = True on it.",
                    122,
                    job,
                )
            )
        if _task_over_cron(job):
            messages.append(
                error(
                    f"{where(job)}: @task is applied over @cron(...), so each slot would call the function in "
                    "runcrons instead of enqueuing the task.",
                    "Put @cron(...) above @task: the decorator nearest the def applies first.",
                    125,
                    job,
                )
            )
    return messages


def _task_over_cron(job: type[BaseCronJob]) -> bool:
    """Whether the function of a ``@cron`` function job became a task afterwards: its module's
    name for it is a task of that very function (``@task`` above ``@cron(...)``)."""
    if not issubclass(job, FunctionJob):
        return False
    module = sys.modules.get(job.__module__)
    named = getattr(module, job.__name__, None)
    return is_task(named) and getattr(named, "func", None) is job.function


def _drains_tasks() -> bool:
    """runcrons drains a task queue here: a project may use cronjobs for tasks alone."""
    if not apps.is_installed("cronjobs.tasks"):
        return False
    from cronjobs.tasks.worker import backend_aliases

    return bool(backend_aliases())
