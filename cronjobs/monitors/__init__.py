"""Monitors: outside services told how each run went (healthchecks.io, Cronitor, Sentry Crons).

Configured in one place, ``CRONJOBS["MONITORS"]``, a dict of named monitors::

    CRONJOBS = {
        "MONITORS": {
            "hc": {"BACKEND": "healthchecks", "PING_KEY": env("HC_PING_KEY")},
            "sentry": {"BACKEND": "sentry", "CHECKIN_MARGIN": timedelta(minutes=2)},
        },
    }

``BACKEND`` is ``"healthchecks"``, ``"cronitor"``, ``"sentry"`` or the dotted path of a
:class:`~cronjobs.monitors.base.Monitor` subclass. Every job reports to every monitor unless
it says otherwise in ``monitors``: a dict of monitor name to options merged over the
setting's (a name the setting lacks needs a ``BACKEND``), or ``False`` to leave that monitor
out; ``monitors = False`` leaves them all out. A job's ``ping_url`` is a healthchecks.io
monitor of its own (named ``"ping_url"``, failures sent to ``<url>/fail``).

The runner calls :func:`run_started` and :func:`run_finished` (through the receivers in
:mod:`cronjobs.ops.notices`). A monitor never fails the job: whatever it raises is logged on
the ``cronjobs`` logger, and each bounds its time by its ``TIMEOUT`` (seconds, its retries
included; default ``CRONJOBS["PING_TIMEOUT"]``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from cronjobs import conf
from cronjobs.monitors.base import Monitor

if TYPE_CHECKING:
    from cronjobs.jobs import BaseCronJob
    from cronjobs.models import Run

logger = logging.getLogger("cronjobs")

#: Short names of the bundled backends.
BACKENDS = {
    "healthchecks": "cronjobs.monitors.healthchecks.Healthchecks",
    "cronitor": "cronjobs.monitors.cronitor.Cronitor",
    "sentry": "cronjobs.monitors.sentry.SentryCrons",
}

__all__ = ["BACKENDS", "Monitor", "backend", "configured", "for_job", "run_finished", "run_started"]


def backend(name: str) -> type[Monitor]:
    """The monitor class of a ``BACKEND`` value; ImportError when there is none."""
    cls = import_string(BACKENDS.get(name, name))
    if not (isinstance(cls, type) and issubclass(cls, Monitor)):
        raise ImportError(f"{name!r} is not a subclass of cronjobs.monitors.base.Monitor")
    return cls


def configured(job: type[BaseCronJob]) -> dict[str, dict[str, Any]]:
    """The options of each monitor ``job`` reports to, by name: the setting merged with the job's own."""
    setting = conf.get("MONITORS") or {}
    own = getattr(job, "monitors", None)
    if own is False:
        return {}
    found: dict[str, dict[str, Any]] = {name: dict(options) for name, options in setting.items()}
    for name, options in (own or {}).items():
        if options is False or options is None:
            found.pop(name, None)
        else:
            found[name] = {**found.get(name, {}), **options}
    if job.ping_url:
        found["ping_url"] = {"BACKEND": "healthchecks", "URL": job.ping_url, "EXIT_STATUS": False}
    return found


def for_job(job: type[BaseCronJob]) -> list[Monitor]:
    """The monitors ``job`` reports to; a monitor that cannot be made is logged and left out."""
    monitors = []
    for name, options in configured(job).items():
        try:
            monitors.append(backend(options.get("BACKEND") or "")(name, options))
        except Exception as exc:
            logger.error("monitor %s of %s cannot be used: %s: %s", name, job.get_code(), type(exc).__name__, exc)
    return monitors


def run_started(job: type[BaseCronJob], run: Run) -> None:
    """Tell every monitor of ``job`` that ``run`` started."""
    for monitor in for_job(job):
        _call(monitor, "started", job, run)


def run_finished(job: type[BaseCronJob], run: Run) -> None:
    """Tell every monitor of ``job`` how ``run`` ended: finished, or settled (skipped, missed)."""
    from cronjobs.models import Run

    if run.status == Run.Status.RUNNING:
        return
    hook = "settled" if run.status in (Run.Status.SKIPPED, Run.Status.MISSED) else "finished"
    for monitor in for_job(job):
        _call(monitor, hook, job, run)


def _call(monitor: Monitor, hook: str, job: type[BaseCronJob], run: Run) -> None:
    try:
        getattr(monitor, hook)(job, run)
    except Exception:
        logger.exception("monitor %s raised on %s of %s (the run is not affected)", monitor.name, hook, run.job_id)
