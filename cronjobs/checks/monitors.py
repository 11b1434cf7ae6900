"""Monitors: ``CRONJOBS["MONITORS"]`` and the jobs' ``monitors`` (E150-E153, W150)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from cronjobs import conf, registry
from cronjobs.checks.base import TAG, error

_EXAMPLE = "E.g. CRONJOBS['MONITORS'] = {'hc': {'BACKEND': 'healthchecks', 'PING_KEY': '...'}}."
_BACKENDS = "'healthchecks', 'cronitor', 'sentry', or the dotted path of a cronjobs.monitors.Monitor subclass"


@register(TAG)
def check_monitors(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from cronjobs import monitors

    setting = conf.get("MONITORS")
    if setting is None:
        return []
    if not isinstance(setting, dict) or not all(isinstance(value, dict) for value in setting.values()):
        return [error(f"CRONJOBS['MONITORS'] is {setting!r}.", f"Use a dict of name to options. {_EXAMPLE}", 150)]
    found: list[CheckMessage] = []
    reported: set[tuple[str, str]] = set()  # (monitor, problem): said once, not once per job
    for job in registry.discover().classes:
        own = getattr(job, "monitors", None)
        if own is not None and own is not False and not _is_overrides(own):
            found.append(
                error(
                    f"{job.get_code()}.monitors is {own!r}.",
                    "Use a dict of monitor name to options (or False to leave one out), or False for none.",
                    153,
                    obj=job,
                )
            )
            continue
        for name, options in monitors.configured(job).items():
            if name == "ping_url" and job.ping_url:
                continue  # checked as the job's ping_url (cronjobs.E044)
            where = f"CRONJOBS['MONITORS'][{name!r}]" if name in setting else f"{job.get_code()}.monitors[{name!r}]"
            if isinstance(own, dict) and name in own and name in setting:
                where = f"{where} of {job.get_code()}"
            try:
                cls = monitors.backend(options.get("BACKEND") or "")
            except ImportError as exc:
                key = (name, "backend")
                if key not in reported:
                    reported.add(key)
                    found.append(
                        error(
                            f"{where} has BACKEND {options.get('BACKEND')!r}, which cannot be used: {exc}",
                            f"Set BACKEND to {_BACKENDS}.",
                            151,
                        )
                    )
                continue
            for problem in cls.problems(options):
                key = (name, problem)
                if key not in reported:
                    reported.add(key)
                    found.append(error(f"{where}: {problem}.", f"See the options of {cls.__name__}.", 152))
            from cronjobs.monitors.sentry import SentryCrons, available

            if issubclass(cls, SentryCrons) and not available() and (name, "sdk") not in reported:
                reported.add((name, "sdk"))
                found.append(
                    Warning(
                        f"Monitor {name!r} sends to Sentry, but sentry-sdk is not installed: nothing will be sent.",
                        hint="pip install 'cronjobs[sentry]'",
                        id="cronjobs.W150",
                    )
                )
    return found


def _is_overrides(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(options, dict) or options is False or options is None for options in value.values()
    )
