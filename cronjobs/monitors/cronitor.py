"""Cronitor's telemetry API: ``https://cronitor.link/p/<API_KEY>/<KEY>?state=...``.

Options: ``API_KEY`` (required), ``KEY`` (the monitor key; default: the job code as a slug; a
monitor that does not exist yet is created by its first event), ``ENV`` (Cronitor's
environment, e.g. ``"production"``), ``BASE_URL``.

Requests (GET), each with ``series=<run uuid>`` (pairs a run's events) and ``host``:

- ``state=run`` when the run starts;
- ``state=complete`` or ``state=fail`` when it ends, with ``status_code`` (the exit status),
  ``metric=duration:<seconds>`` and ``message`` (the run's message; for a failure followed by
  the tail of its output and traceback, at most 2000 characters in all).
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any, ClassVar

from cronjobs.models import Run
from cronjobs.monitors import http
from cronjobs.monitors.base import Monitor, exit_status, output_tail, run_uuid, slug

if TYPE_CHECKING:
    from cronjobs.jobs import BaseCronJob

#: Cronitor keeps this many characters of a message.
MESSAGE_LIMIT = 2000


class Cronitor(Monitor):
    OPTIONS: ClassVar[dict[str, Any]] = {"API_KEY": None, "KEY": None, "ENV": None, "BASE_URL": "https://cronitor.link"}
    REQUIRED = (("API_KEY",),)

    def started(self, job: type[BaseCronJob], run: Run) -> None:
        self._send(job, run, [("state", "run")])

    def finished(self, job: type[BaseCronJob], run: Run) -> None:
        ok = run.status == Run.Status.SUCCEEDED
        message = run.message[:MESSAGE_LIMIT]
        if not ok:  # what went wrong, then as much of the output's end (and traceback) as fits
            tail = output_tail(run, MESSAGE_LIMIT - len(message) - 2)
            message = f"{message}\n\n{tail}" if message and tail else message or tail
        params = [
            ("state", "complete" if ok else "fail"),
            ("status_code", str(exit_status(run))),
            ("metric", f"duration:{run.duration or 0.0:.3f}"),
        ]
        if message:
            params.append(("message", message))
        self._send(job, run, params)

    def url(self, job: type[BaseCronJob], run: Run, params: list[tuple[str, str]]) -> str:
        key = self.options["KEY"] or slug(job.get_code())
        base = f"{str(self.options['BASE_URL']).rstrip('/')}/p/{self.options['API_KEY']}/{urllib.parse.quote(key)}"
        params = [*params, ("series", run_uuid(run)), ("host", run.hostname)]
        if self.options["ENV"]:
            params.append(("env", str(self.options["ENV"])))
        return f"{base}?{urllib.parse.urlencode(params)}"

    def _send(self, job: type[BaseCronJob], run: Run, params: list[tuple[str, str]]) -> None:
        http.send(self.url(job, run, params), method="GET", timeout=self.timeout, retries=self.retries)
