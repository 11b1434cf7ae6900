"""Finding job classes: every installed app's ``cron.py`` plus ``CRONJOBS["JOBS"]``, the jobs of
another scheduler's configuration read as it stands (:mod:`cronjobs.peers`), and the schedules
stored in the database.

A function or task under ``@cron(...)`` counts as the class the decorator made of it
(:mod:`cronjobs.decorator`), in ``cron.py`` (decorated there or imported there) or listed by path.

What is in code is found once per process (:func:`discover`); the stored schedules
(:mod:`cronjobs.stored`) are read again after :func:`refresh`, which ``runcrons`` calls at each
invocation and each pass of ``--loop``, and the admin at each of its pages (a change saved in
this process refreshes too)."""

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
from cronjobs.decorator import job_of
from cronjobs.jobs import BaseCronJob
from cronjobs.peers import crontab, djangocron

MODULE_NAME = "cron"


@dataclasses.dataclass(frozen=True)
class Discovery:
    """The result of looking for job classes."""

    classes: list[type[BaseCronJob]]
    """Every job class found, duplicates included (the checks report those)."""
    errors: list[str]
    """Entries of ``CRONJOBS["JOBS"]`` that could not be used, with the reason."""
    broken: list[BrokenModule] = dataclasses.field(default_factory=list)
    """Apps whose ``cron.py`` raised on import: their jobs are missing, the others' are not."""


@dataclasses.dataclass(frozen=True)
class BrokenModule:
    """An app's ``cron.py`` that could not be imported."""

    app_label: str
    module: str
    file: str
    error: str
    """The exception in one line, with the file and line of a syntax error."""


_discovery: Discovery | None = None
_stored: dict[str, type[BaseCronJob]] | None = None


def reset() -> None:
    """Forget what was found (after settings change)."""
    global _discovery
    _discovery = None
    refresh()


def refresh() -> None:
    """Read the stored schedules again at the next :func:`get_jobs` (a change takes effect)."""
    global _stored
    _stored = None


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CRONJOBS", "CRON_CLASSES", "TIME_ZONE", "INSTALLED_APPS"):
        reset()


def discover() -> Discovery:
    """Import every app's cron module and the configured classes (once)."""
    global _discovery
    if _discovery is None:
        _discovery = _discover()
    return _discovery


def get_jobs() -> dict[str, type[BaseCronJob]]:
    """Registered jobs by code, in discovery order (the first of duplicate codes wins), then the
    stored schedules by name (a job in code wins over a stored schedule of the same code)."""
    jobs: dict[str, type[BaseCronJob]] = {}
    for cls in discover().classes:
        jobs.setdefault(cls.get_code(), cls)
    for code, cls in stored().items():
        jobs.setdefault(code, cls)
    return jobs


def stored() -> dict[str, type[BaseCronJob]]:
    """The jobs of the schedules stored in the database, read once after each :func:`refresh`."""
    global _stored
    if _stored is None:
        from cronjobs import stored as rows

        _stored = rows.read()
    return _stored


def _discover() -> Discovery:
    found: list[type[BaseCronJob]] = []
    errors: list[str] = []
    broken: list[BrokenModule] = []
    if conf.get("AUTODISCOVER"):
        for app in apps.get_app_configs():
            if app.module is None or not module_has_submodule(app.module, MODULE_NAME):
                continue
            name = f"{app.name}.{MODULE_NAME}"
            try:
                module = importlib.import_module(name)
            except Exception as exc:
                # One app's mistake must not silence the others' jobs: the system check
                # (cronjobs.E121) reports it, runcrons runs the rest and exits 2.
                broken.append(BrokenModule(app.label, name, _module_file(app.path), _describe(exc)))
                continue
            for obj in list(vars(module).values()):
                if (
                    inspect.isclass(obj)
                    and issubclass(obj, BaseCronJob)
                    and obj.__module__ == module.__name__
                    and not obj.abstract
                ):
                    found.append(obj)
                else:  # a function or task under @cron, decorated here or imported here
                    job = job_of(obj)
                    if job is not None and job not in found:
                        found.append(job)
    jobs_setting = conf.get("JOBS")
    for path in jobs_setting if isinstance(jobs_setting, (list, tuple)) else ():
        try:
            obj = import_string(path)
        except ImportError as exc:
            errors.append(f"{path!r} cannot be imported: {exc}")
            continue
        obj = job_of(obj) or obj
        if not (inspect.isclass(obj) and issubclass(obj, BaseCronJob)):
            errors.append(f"{path!r} is neither a BaseCronJob subclass nor a function or task under @cron(...)")
        elif obj.abstract:
            errors.append(f"{path!r} is abstract")
        elif obj not in found:
            found.append(obj)
    # Another scheduler's configuration; what cannot be mapped is for cronjobs.checks.peers.
    found.extend(crontab.read().jobs)
    found.extend(djangocron.read().jobs)
    return Discovery(found, errors, broken)


def _module_file(app_path: str) -> str:
    import os

    for candidate in (f"{MODULE_NAME}.py", os.path.join(MODULE_NAME, "__init__.py")):
        path = os.path.join(app_path, candidate)
        if os.path.exists(path):
            return path
    return os.path.join(app_path, f"{MODULE_NAME}.py")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__}: {exc.msg} ({exc.filename}, line {exc.lineno})"
    import traceback

    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    text = f"{type(exc).__name__}: {exc}"
    return f"{text} ({where.filename}, line {where.lineno})" if where else text
