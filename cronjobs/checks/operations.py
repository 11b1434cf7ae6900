"""Operating the jobs: retention, output, notices (E040-E049, W040-W049)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, register

from cronjobs import conf, registry
from cronjobs.checks.base import TAG, error, where


@register(TAG)
def check_operations(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from django.core.checks import Warning

    from cronjobs.monitors.base import is_http_url, shown
    from cronjobs.ops import retention

    errors: list[CheckMessage] = []
    values = conf.get_settings()
    try:
        retention.parse(values["KEEP_RUNS"])
    except ValueError as exc:
        errors.append(
            error(
                f"CRONJOBS['KEEP_RUNS'] is invalid: {exc}.",
                "E.g. 1000, timedelta(days=30), {'count': 1000, 'age': timedelta(days=30)}, or None to keep all.",
                40,
            )
        )
    limit = values["OUTPUT_LIMIT"]
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        errors.append(
            error(
                f"CRONJOBS['OUTPUT_LIMIT'] is {limit!r}.",
                "Use a whole number of characters, 0 to store no output (the default is 64000).",
                41,
            )
        )
    if not isinstance(values["MAIL_ADMINS"], bool):
        errors.append(error(f"CRONJOBS['MAIL_ADMINS'] is {values['MAIL_ADMINS']!r}.", "Use True or False.", 42))
    elif values["MAIL_ADMINS"] and not settings.ADMINS:
        errors.append(
            Warning(
                "CRONJOBS['MAIL_ADMINS'] is True but settings.ADMINS is empty: no failure mail will be sent.",
                hint="Set ADMINS = [('Name', 'ops@example.com')] (and the EMAIL_* settings).",
                id="cronjobs.W040",
            )
        )
    timeout = values["PING_TIMEOUT"]
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 60:
        errors.append(
            error(f"CRONJOBS['PING_TIMEOUT'] is {timeout!r}.", "Use a number of seconds above 0, at most 60.", 43)
        )
    errors += _check_work_horses(values)
    for job in registry.discover().classes:
        url = job.ping_url
        if url is None:
            continue
        if not is_http_url(url):
            errors.append(
                error(
                    f"{where(job)}: ping_url {shown(url)!r} is not an http(s) URL.",
                    "E.g. ping_url = 'https://hc-ping.com/<uuid>', or None for no pings.",
                    44,
                    job,
                )
            )
    return errors


def _check_work_horses(values: dict[str, Any]) -> list[CheckMessage]:
    """``WORK_HORSE_MAX_RUNS``, ``WORK_HORSE_MAX_MEMORY`` and ``STOP_GRACE``."""
    from datetime import timedelta

    problems = []
    runs, memory, grace = values["WORK_HORSE_MAX_RUNS"], values["WORK_HORSE_MAX_MEMORY"], values["STOP_GRACE"]
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        problems.append(f"CRONJOBS['WORK_HORSE_MAX_RUNS'] is {runs!r}: use a whole number, 1 or more (default 1000)")
    if memory is not None and (not isinstance(memory, int) or isinstance(memory, bool) or memory < 1):
        problems.append(f"CRONJOBS['WORK_HORSE_MAX_MEMORY'] is {memory!r}: use a number of MiB, or None for no ceiling")
    if not isinstance(grace, timedelta) or not timedelta(0) <= grace <= timedelta(days=1):
        problems.append(f"CRONJOBS['STOP_GRACE'] is {grace!r}: use a timedelta from 0 to a day")
    return [error(f"{problem}.", "See the settings reference: Work horses.", 45) for problem in problems]
