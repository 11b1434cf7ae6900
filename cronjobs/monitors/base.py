"""What every monitor is: :class:`Monitor`, the adapter between a run and one outside protocol.

A monitor hears three things of a job's runs, each after the run's record is written:
:meth:`~Monitor.started` (the run holds its lock and is about to call ``run()``),
:meth:`~Monitor.finished` (succeeded, failed, timed out, crashed or interrupted) and
:meth:`~Monitor.settled` (a slot recorded as skipped: its lock was held elsewhere). Missed slots
are not announced: a monitor that expects a job notices their absent check-ins itself. A monitor
never raises into the runner (:mod:`cronjobs.monitors` logs what it raised) and bounds the
time it takes with its ``TIMEOUT`` (seconds, all retries included).
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any, ClassVar

from cronjobs.models import Run

if TYPE_CHECKING:
    from cronjobs.jobs import BaseCronJob

Status = Run.Status
_RUN_NAMESPACE = uuid.UUID("5f0c4b8e-4a52-4d0e-9d0e-6c1f5b0e2c11")

#: The exit status a run stands for, as a shell would report it: 0 ok, 1 failed, 124 timed out
#: (as ``timeout(1)``), 130 interrupted (as Ctrl-C), 137 crashed (as a killed process).
EXIT_STATUS = {
    Status.SUCCEEDED: 0,
    Status.FAILED: 1,
    Status.TIMED_OUT: 124,
    Status.INTERRUPTED: 130,
    Status.CRASHED: 137,
}


#: The longest ``TIMEOUT`` a monitor may have (seconds), as ``CRONJOBS["PING_TIMEOUT"]``: every
#: event of every run may wait this long.
MAX_TIMEOUT = 60


def is_http_url(value: Any) -> bool:
    """Whether ``value`` is an ``http://`` or ``https://`` URL with a host (no ``file:``,
    ``gopher:`` or other scheme urllib would also open)."""
    import urllib.parse

    if not isinstance(value, str):
        return False
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def shown(value: Any) -> Any:
    """A URL option as a check message shows it: masked as in log lines (:func:`cronjobs.monitors.http.safe`)."""
    from cronjobs.monitors.http import safe

    return safe(value) if isinstance(value, str) else value


class Monitor:
    """One configured monitor. Subclasses implement the hooks they need and :meth:`problems`."""

    #: Options every monitor accepts, with their defaults (None: ``CRONJOBS["PING_TIMEOUT"]``).
    COMMON: ClassVar[dict[str, Any]] = {"BACKEND": None, "TIMEOUT": None, "RETRIES": 1}
    #: This backend's own options and their defaults.
    OPTIONS: ClassVar[dict[str, Any]] = {}
    #: Options without a default that must be set (any one of each tuple).
    REQUIRED: ClassVar[tuple[tuple[str, ...], ...]] = ()

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        from cronjobs import conf

        self.name = name
        self.options = {**self.COMMON, **self.OPTIONS, **options}
        timeout = self.options["TIMEOUT"]
        self.timeout = float(conf.get("PING_TIMEOUT") if timeout is None else timeout)
        self.retries = int(self.options["RETRIES"])

    @classmethod
    def problems(cls, options: dict[str, Any]) -> list[str]:
        """What is wrong with ``options`` (merged with a job's override), for the system checks."""
        known = {*cls.COMMON, *cls.OPTIONS}
        accepted = ", ".join(sorted(known))
        found = [f"unknown option {key!r} (accepted: {accepted})" for key in options if key not in known]
        for names in cls.REQUIRED:
            if not any(options.get(name) for name in names):
                found.append(f"set {' or '.join(repr(name) for name in names)}")
        timeout = options.get("TIMEOUT")
        if timeout is not None and (
            not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= MAX_TIMEOUT
        ):
            found.append(f"TIMEOUT must be a number of seconds above 0, at most {MAX_TIMEOUT}, not {timeout!r}")
        for key in sorted(known):
            value = options.get(key)
            if (key == "URL" or key.endswith("_URL")) and value is not None and not is_http_url(value):
                found.append(f"{key} must be an http:// or https:// URL with a host, not {shown(value)!r}")
        retries = options.get("RETRIES", 1)
        if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 5:
            found.append(f"RETRIES must be a whole number from 0 to 5, not {retries!r}")
        return found

    def started(self, job: type[BaseCronJob], run: Run) -> None:
        """The run is about to call ``run()``."""

    def finished(self, job: type[BaseCronJob], run: Run) -> None:
        """The run ended (its record says how)."""

    def settled(self, job: type[BaseCronJob], run: Run) -> None:
        """A slot was recorded as skipped without running."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def run_uuid(run: Run) -> str:
    """A stable UUID for the run: the same when it starts and when it ends, in every process."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{run.job_id}:{run.pk}"))


def exit_status(run: Run) -> int:
    """The run's :data:`EXIT_STATUS` (1 for any other status)."""
    return EXIT_STATUS.get(Status(run.status), 1)


def output_tail(run: Run, limit: int) -> str:
    """The last ``limit`` characters of the run's output, its traceback after it when it failed."""
    text = run.output
    if run.status != Status.SUCCEEDED and run.traceback:
        separator = "" if not text or text.endswith("\n") else "\n"
        text = f"{text}{separator}{run.traceback}"
    return text[-limit:] if limit > 0 else ""


def slug(code: str) -> str:
    """A job code as a monitor slug: lower case letters, digits, ``-`` and ``_`` (``app.Job`` -> ``app-job``)."""
    return re.sub(r"[^a-z0-9_-]+", "-", code.lower()).strip("-") or "job"


def summary(run: Run) -> str:
    """One line saying how the run went: its message, or its status."""
    first = (run.message or "").strip().splitlines()
    return first[0] if first else f"{run.job_id} {run.get_status_display()}"
