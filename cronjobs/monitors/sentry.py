"""Sentry Crons through ``sentry-sdk`` (``pip install cronjobs[sentry]``).

Each run sends check-ins: ``in_progress`` when it starts, ``ok`` or ``error`` with its duration
when it ends, paired by a check-in id derived from the run. Every check-in carries the monitor
config (the job's schedule, its time zone, ``checkin_margin`` and ``max_runtime``), so that
Sentry creates the monitor on the first check-in and keeps it in step with the code: change
the schedule and the monitor follows; slots that never check in show up as missed in Sentry.

Options: ``DSN`` (default: the client of the project's own ``sentry_sdk.init()``), ``SLUG``
(default: the job code as a slug), ``CHECKIN_MARGIN`` (a timedelta, default 5 minutes: cron
starts ``runcrons`` every minute and jobs before it may take a while), ``MAX_RUNTIME`` (a
timedelta, default: the job's ``timeout``, else 30 minutes), ``FAILURE_ISSUE_THRESHOLD`` and
``RECOVERY_THRESHOLD`` (Sentry's consecutive check-ins before an issue opens or resolves).

The SDK sends from a background thread; when a run ends the check-ins are flushed, for at
most ``TIMEOUT`` seconds, so that a short-lived ``runcrons`` does not exit before they leave.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from cronjobs.models import Run
from cronjobs.monitors.base import Monitor, run_uuid, slug
from cronjobs.schedules import CronSchedule, IntervalSchedule

if TYPE_CHECKING:
    from cronjobs.jobs import BaseCronJob

logger = logging.getLogger("cronjobs")

#: Sentry's interval units, largest first, in seconds.
_UNITS = (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60))
#: Clients made for a ``DSN`` option, per process (a forked worker makes its own: the SDK's
#: sending thread does not survive a fork).
_clients: dict[tuple[int, str], Any] = {}


def available() -> bool:
    """Whether sentry-sdk can be imported."""
    try:
        import sentry_sdk  # noqa: F401
    except ImportError:
        return False
    return True


class SentryCrons(Monitor):
    OPTIONS: ClassVar[dict[str, Any]] = {
        "DSN": None,
        "SLUG": None,
        "CHECKIN_MARGIN": timedelta(minutes=5),
        "MAX_RUNTIME": None,
        "FAILURE_ISSUE_THRESHOLD": None,
        "RECOVERY_THRESHOLD": None,
    }

    @classmethod
    def problems(cls, options: dict[str, Any]) -> list[str]:
        found = super().problems(options)
        for key in ("CHECKIN_MARGIN", "MAX_RUNTIME"):
            value = options.get(key)
            if value is not None and (not isinstance(value, timedelta) or value <= timedelta(0)):
                found.append(f"{key} must be a positive timedelta, not {value!r}")
        for key in ("FAILURE_ISSUE_THRESHOLD", "RECOVERY_THRESHOLD"):
            value = options.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                found.append(f"{key} must be a positive whole number, not {value!r}")
        return found

    def started(self, job: type[BaseCronJob], run: Run) -> None:
        self._check_in(job, run, "in_progress", None, flush=False)

    def finished(self, job: type[BaseCronJob], run: Run) -> None:
        status = "ok" if run.status == Run.Status.SUCCEEDED else "error"
        self._check_in(job, run, status, run.duration or 0.0, flush=True)

    def monitor_config(self, job: type[BaseCronJob]) -> dict[str, Any]:
        """Sentry's ``monitor_config`` for ``job``: schedule, time zone, margin and max runtime (minutes)."""
        config: dict[str, Any] = {}
        schedule = job.get_schedule()
        if isinstance(schedule, CronSchedule):
            config["schedule"] = {"type": "crontab", "value": schedule.fields}
            config["timezone"] = schedule.zone
        elif isinstance(schedule, IntervalSchedule):
            seconds = int(schedule.interval.total_seconds())
            for unit, size in _UNITS:
                if seconds >= size and seconds % size == 0:
                    config["schedule"] = {"type": "interval", "value": seconds // size, "unit": unit}
                    break
            else:  # under a minute, or not whole minutes: Sentry's finest unit is the minute
                config["schedule"] = {"type": "interval", "value": max(1, math.ceil(seconds / 60)), "unit": "minute"}
        margin = self.options["CHECKIN_MARGIN"]
        if margin is not None:
            config["checkin_margin"] = _minutes(margin)
        runtime = self.options["MAX_RUNTIME"] or job.timeout or timedelta(minutes=30)
        config["max_runtime"] = _minutes(runtime)
        for key in ("FAILURE_ISSUE_THRESHOLD", "RECOVERY_THRESHOLD"):
            if self.options[key] is not None:
                config[key.lower()] = self.options[key]
        return config

    def check_in_id(self, run: Run) -> str:
        return uuid.UUID(run_uuid(run)).hex

    def _check_in(self, job: type[BaseCronJob], run: Run, status: str, duration: float | None, *, flush: bool) -> None:
        import sentry_sdk
        from sentry_sdk.crons import capture_checkin

        client = self._client()
        if client is None or not client.is_active():
            logger.warning("monitor %s: no Sentry DSN (set DSN, or call sentry_sdk.init()); nothing sent", self.name)
            return
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            capture_checkin(
                monitor_slug=self.options["SLUG"] or slug(job.get_code()),
                check_in_id=self.check_in_id(run),
                status=status,
                duration=duration,
                monitor_config=self.monitor_config(job),  # type: ignore[arg-type]
            )
        if flush:
            client.flush(timeout=self.timeout)

    def _client(self) -> Any:
        import sentry_sdk

        dsn = self.options["DSN"]
        if not dsn:
            return sentry_sdk.get_client()
        key = (os.getpid(), str(dsn))
        if key not in _clients:
            # A client of its own, without integrations: those belong to the project's init().
            _clients[key] = sentry_sdk.Client(
                dsn=str(dsn), default_integrations=False, auto_enabling_integrations=False
            )
        return _clients[key]


def _minutes(value: timedelta) -> int:
    return max(1, math.ceil(value.total_seconds() / 60))
