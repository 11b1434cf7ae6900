"""Another scheduler's configuration read as it stands (:mod:`cronjobs.peers`): what was read
(Info, for ``manage.py check``) and what could not be mapped (an error per entry)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Info, register

from cronjobs.checks.base import TAG, error
from cronjobs.peers import crontab


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
