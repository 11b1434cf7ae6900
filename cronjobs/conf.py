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
    # Where file locks live; None: a private directory under the system temp dir.
    "LOCK_DIR": None,
    # At most this many missed slots are run (catchup "all") or recorded one by one.
    "MAX_CATCHUP": 100,
    # With catchup "none", a slot still runs when it came due at most this long ago.
    "CATCHUP_GRACE": timedelta(minutes=2),
    # Runs kept per job: a count, an age (timedelta), or {"count": N, "age": timedelta}; None keeps all.
    "KEEP_RUNS": {"count": 1000, "age": None},
    # Characters of a run's output (stdout, stderr, logging) stored; the middle is cut beyond.
    "OUTPUT_LIMIT": 64_000,
    # Send mail_admins when a job starts failing (once per streak) and when it recovers.
    "MAIL_ADMINS": False,
    # Seconds a health-check ping may take in all, its retry included.
    "PING_TIMEOUT": 5.0,
}


@functools.cache
def get_settings() -> dict[str, Any]:
    """``DEFAULTS`` updated with the project's ``CRONJOBS`` (unknown keys are kept for the checks)."""
    user = getattr(settings, "CRONJOBS", None) or {}
    if not isinstance(user, dict):
        return dict(DEFAULTS)
    return {**DEFAULTS, **user}


def get(key: str) -> Any:
    """One value of the ``CRONJOBS`` setting."""
    return get_settings()[key]


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CRONJOBS", "TIME_ZONE", "CACHES", "DATABASES"):
        get_settings.cache_clear()
        from cronjobs import registry

        registry.reset()
