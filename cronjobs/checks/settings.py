"""The ``CRONJOBS`` setting as a whole: a dict of known keys, ``USE_TZ``, the lock directory."""

from __future__ import annotations

import difflib
import os
import tempfile
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, register

from cronjobs import conf, locks, registry
from cronjobs.checks.base import TAG, error
from cronjobs.peers import crontab

#: The largest ``MAX_CATCHUP``: a week of a job due every minute. After an outage each missed
#: slot up to this bound is planned, then recorded as missed or run, per job: 10,000 slots take
#: a few seconds and a few megabytes once (measured: 0.1 s to plan, 2.3 s to build the records);
#: the cost grows with the bound (a bound of 10**12 planned 2.6 million slots for a 1 s job
#: after 30 days: 100 s and 586 MB for one dry run).
MAX_CATCHUP = 10_000


@register(TAG)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    user = getattr(settings, "CRONJOBS", None)
    if crontab.is_crontab_list(user):
        user = None  # django-crontab's list of entries: cronjobs.checks.peers reads it
    elif user is not None and not isinstance(user, dict):
        return [
            error(
                "CRONJOBS must be a dict.",
                f"Got {type(user).__name__}. (A list is read as django-crontab's list of entries.)",
                10,
            )
        ]
    for key in sorted(set(user or {}) - set(conf.DEFAULTS), key=str):
        close = difflib.get_close_matches(str(key), sorted(conf.DEFAULTS), n=1)
        errors.append(
            error(
                f"CRONJOBS has an unknown key {key!r}.",
                (f"Did you mean {close[0]!r}? " if close else "")
                + f"Accepted keys: {', '.join(sorted(conf.DEFAULTS))}.",
                10,
            )
        )
    if not settings.USE_TZ:
        errors.append(
            error(
                "cronjobs needs USE_TZ = True.",
                "Slots are stored as aware datetimes in UTC; set USE_TZ = True in your settings.",
                13,
            )
        )
    values = conf.get_settings()
    if not isinstance(values["JOBS"], (list, tuple)):
        errors.append(error("CRONJOBS['JOBS'] must be a list of dotted paths.", "E.g. ['myapp.jobs.Nightly'].", 16))
    if values["LOCK"] not in locks.BACKENDS:
        errors.append(
            error(
                f"CRONJOBS['LOCK'] is {values['LOCK']!r}, not a known lock.",
                f"Use one of {', '.join(repr(n) for n in locks.BACKENDS)}.",
                5,
            )
        )
    catchup = values["MAX_CATCHUP"]
    if not isinstance(catchup, int) or isinstance(catchup, bool) or not 1 <= catchup <= MAX_CATCHUP:
        errors.append(
            error(
                f"CRONJOBS['MAX_CATCHUP'] must be a whole number from 1 to {MAX_CATCHUP:,}, not {catchup!r}.",
                "The default is 100. Each missed slot up to this bound is planned and recorded (or run) "
                "one by one, per job, after an outage.",
                16,
            )
        )
    if not isinstance(values["CATCHUP_GRACE"], timedelta) or values["CATCHUP_GRACE"] < timedelta(0):
        errors.append(
            error("CRONJOBS['CATCHUP_GRACE'] must be a non-negative timedelta.", "The default is 2 minutes.", 16)
        )
    if values["LOCK_DIR"] is not None:
        problem = _unwritable(os.fspath(values["LOCK_DIR"]))
        if problem:
            errors.append(
                error(
                    f"CRONJOBS['LOCK_DIR'] {os.fspath(values['LOCK_DIR'])!r} cannot be written: {problem}.",
                    "Point LOCK_DIR at a directory this user owns, or leave it unset.",
                    12,
                )
            )
    for message in registry.discover().errors:
        errors.append(error(f"CRONJOBS['JOBS']: {message}.", "Fix or remove the entry.", 11))
    return errors


def _unwritable(directory: str) -> str | None:
    """Why a file lock could not be created in ``directory``, or None when it can."""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
