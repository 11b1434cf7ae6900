"""Another scheduler's configuration read as it stands (:mod:`cronjobs.peers`): what was read
(Info, for ``manage.py check``) and what could not be mapped (an error per entry)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Info, register

from cronjobs.checks.base import TAG, error
from cronjobs.peers import crontab, djangocron


@register(TAG)
def check_crontab_entries(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """django-crontab's ``CRONJOBS`` list: I210 says what became of it, E210 each entry it cannot run."""
    read = crontab.read()
    messages: list[CheckMessage] = [
        error(f"{problem}.", "Fix the entry, or move it to a job class or @cron(...) function in cron.py.", 210)
        for problem in read.errors
    ]
    if read.jobs:
        messages.append(
            Info(
                f"CRONJOBS is django-crontab's list: {len(read.jobs)} of its entries run as jobs here.",
                hint="; ".join(crontab.describe(job) for job in read.jobs)
                + ". Their times are read in TIME_ZONE; django-crontab's CRONTAB_* settings are not used "
                "(installcrons writes the one crontab line).",
                id="cronjobs.I210",
            )
        )
    return messages


@register(TAG)
def check_cron_classes(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """django-cron's ``CRON_CLASSES``: I211 says what became of them, E211 each class it cannot run."""
    read = djangocron.read()
    messages: list[CheckMessage] = [
        error(f"{problem}.", "Fix the class, or rewrite it as a job class (see docs: Coming from django-cron).", 211)
        for problem in read.errors
    ]
    if read.jobs:
        messages.append(
            Info(
                f"CRON_CLASSES (django-cron): {len(read.jobs)} classes run as jobs here.",
                hint="; ".join(f"{job.get_code()} at {_when(job)}" for job in read.jobs)
                + "".join(f"; {note}" for note in read.notes)
                + (
                    ". MIN_NUM_FAILURES: with CRONJOBS['MAIL_ADMINS'] the first failure of a streak mails."
                    if read.notes
                    else "."
                ),
                id="cronjobs.I211",
            )
        )
    return messages


def _when(job: type) -> str:
    return repr(job.schedule) if job.schedule else f"every {job.interval}"  # type: ignore[attr-defined]
