"""The ``CRONJOBS`` setting: one dict, read lazily, reset when tests override it."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

#: Every accepted key of ``CRONJOBS`` and its default.
DEFAULTS: dict[str, Any] = {
    # Dotted paths of job classes, in addition to those found in each app's cron.py.
    "JOBS": [],
    # Look for ``cron.py`` in every installed app.
    "AUTODISCOVER": True,
    # The lock backend of jobs that do not set ``lock``.
    "LOCK": "file",
    # The CACHES alias of cache locks (a cache all runcrons processes share: Redis, Memcached).
    "LOCK_CACHE": "default",
    # Where file locks live; None: a private directory under the system temp dir.
    "LOCK_DIR": None,
    # At most this many missed slots are run (catchup "all") or recorded one by one (1 to 10,000).
    "MAX_CATCHUP": 100,
    # With catchup "none", a slot still runs when it came due at most this long ago.
    "CATCHUP_GRACE": timedelta(minutes=2),
    # installcrons: the id tagging this project's crontab entry; None: the settings module.
    "INSTALL_ID": None,
    # installcrons: names of environment variables copied into the entry (never secrets).
    "INSTALL_ENV": [],
    # installcrons: a file of NAME=value lines the entry sources at run time (secrets go here).
    "INSTALL_ENV_FILE": None,
    # installcrons: where runcrons' output is appended; None: cronjobs.log beside manage.py;
    # False: no log file (cron mails the output).
    "INSTALL_LOG_FILE": None,
    # Each runcrons invocation drains ready tasks for at most this long after it starts.
    "TASKS_BUDGET": timedelta(seconds=45),
    # runcrons --loop looks for ready tasks this often when the queue is empty.
    "TASKS_POLL_INTERVAL": timedelta(seconds=1),
    # The most ready tasks a worker claims at once (in one statement); its batch starts at one and
    # doubles while the tasks are fast. 1: one task at a time.
    "TASKS_BATCH_SIZE": 32,
    # Make the worker's own records (claims, outcomes) wait for the disk at each commit. Off:
    # a database server crash may make the last few finished tasks run again.
    "TASKS_DURABLE_BOOKKEEPING": False,
    # Finished tasks (succeeded or failed) are deleted this long after they finish; None keeps them.
    "KEEP_TASK_RESULTS": timedelta(days=7),
    # Runs kept per job: a count, an age (timedelta), or {"count": N, "age": timedelta}; None keeps all.
    "KEEP_RUNS": {"count": 1000, "age": None},
    # Project code (jobs, their hooks and conditions, tasks) runs in a work-horse process that
    # runcrons supervises: it is replaced after this many runs (and tasks) ...
    "WORK_HORSE_MAX_RUNS": 1000,
    # ... and when, after a run, it holds more than this much memory (MiB); None: no ceiling.
    "WORK_HORSE_MAX_MEMORY": None,
    # On SIGTERM, running work may finish for this long before it is stopped (runcrons --stop-grace).
    "STOP_GRACE": timedelta(0),
    # Bytes of a run's output (stdout, stderr, logging) stored; the middle is cut beyond.
    "OUTPUT_LIMIT": 64_000,
    # Send mail_admins when a job starts failing (once per streak) and when it recovers.
    "MAIL_ADMINS": False,
    # Seconds a health-check ping may take in all, its retry included (the default TIMEOUT of monitors).
    "PING_TIMEOUT": 5.0,
    # Outside monitors told of every run, by name: {"hc": {"BACKEND": "healthchecks", ...}}.
    "MONITORS": {},
    # The name of this deployment ("production", "staging"...), matched against jobs' environments.
    "ENVIRONMENT": None,
}


@functools.cache
def get_settings() -> dict[str, Any]:
    """``DEFAULTS`` updated with the project's ``CRONJOBS`` (unknown keys are kept for the checks)."""
    user = getattr(settings, "CRONJOBS", None) or {}
    if not isinstance(user, dict):
        return dict(DEFAULTS)
    return {**DEFAULTS, **user}


@functools.cache
def default_timezone() -> str:
    """``settings.TIME_ZONE`` (or UTC): the zone of jobs that do not set one. Cached: it is
    read for every job on every runcrons, and a settings lookup is slow next to the rest."""
    return settings.TIME_ZONE or "UTC"


def get(key: str) -> Any:
    """One value of the ``CRONJOBS`` setting."""
    return get_settings()[key]


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CRONJOBS", "TIME_ZONE", "CACHES", "DATABASES"):
        get_settings.cache_clear()
        default_timezone.cache_clear()
