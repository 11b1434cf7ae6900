"""Finding job classes: every installed app's ``cron.py`` plus ``CRONJOBS["JOBS"]``."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any

from django.apps import apps
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string, module_has_submodule

from cronjobs import conf
from cronjobs.jobs import BaseCronJob

MODULE_NAME = "cron"


@dataclasses.dataclass(frozen=True)
class Discovery:
    """The result of looking for job classes."""

    classes: list[type[BaseCronJob]]
    """Every job class found, duplicates included (the checks report those)."""
    errors: list[str]
    """Entries of ``CRONJOBS["JOBS"]`` that could not be used, with the reason."""


_discovery: Discovery | None = None


def reset() -> None:
    """Forget what was found (after settings change)."""
    global _discovery
    _discovery = None


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CRONJOBS", "TIME_ZONE", "INSTALLED_APPS"):
        reset()


def discover() -> Discovery:
    """Import every app's cron module and the configured classes (once)."""
    global _discovery
    if _discovery is None:
        _discovery = _discover()
    return _discovery


def get_jobs() -> dict[str, type[BaseCronJob]]:
    """Registered jobs by code, in discovery order (the first of duplicate codes wins)."""
    jobs: dict[str, type[BaseCronJob]] = {}
    for cls in discover().classes:
        jobs.setdefault(cls.get_code(), cls)
    return jobs


def _discover() -> Discovery:
    found: list[type[BaseCronJob]] = []
    errors: list[str] = []
    if conf.get("AUTODISCOVER"):
        for app in apps.get_app_configs():
            if app.module is None or not module_has_submodule(app.module, MODULE_NAME):
                continue
            module = importlib.import_module(f"{app.name}.{MODULE_NAME}")
            for obj in list(vars(module).values()):
                if (
                    inspect.isclass(obj)
                    and issubclass(obj, BaseCronJob)
                    and obj.__module__ == module.__name__
                    and not obj.abstract
                ):
                    found.append(obj)
    jobs_setting = conf.get("JOBS")
    for path in jobs_setting if isinstance(jobs_setting, (list, tuple)) else ():
        try:
            obj = import_string(path)
        except ImportError as exc:
            errors.append(f"{path!r} cannot be imported: {exc}")
            continue
        if not (inspect.isclass(obj) and issubclass(obj, BaseCronJob)):
            errors.append(f"{path!r} is not a BaseCronJob subclass")
        elif obj.abstract:
            errors.append(f"{path!r} is abstract")
        elif obj not in found:
            found.append(obj)
    return Discovery(found, errors)
