"""healthchecks.io (and self-hosted Healthchecks) ping API.

Options: ``URL`` (a check's ping URL, ``https://hc-ping.com/<uuid>``, usually set per job), or
``PING_KEY`` with ``SLUG`` (default: the job code as a slug) for slug URLs,
``https://hc-ping.com/<ping key>/<slug>``, with ``?create=1`` while ``CREATE`` is true (the
default) so that a check appears on its first ping. ``BASE_URL`` for a self-hosted instance.

Requests (all POST, each with ``?rid=<run uuid>`` so that start and end pair up):

- ``<url>/start`` when the run starts;
- ``<url>`` (success), or ``<url>/<exit status>`` (``EXIT_STATUS``, the default; non-zero
  counts as a failure, and the status shows in the check's log) or ``<url>/fail`` for a
  failure, with the tail of the output (``BODY_LIMIT`` characters) and the traceback as body;
- ``<url>/log`` when a slot is recorded as skipped (its lock held elsewhere): an entry in the
  check's log that changes nothing else.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any, ClassVar

from cronjobs import words
from cronjobs.models import Run
from cronjobs.monitors import http
from cronjobs.monitors.base import Monitor, exit_status, output_tail, run_uuid, slug

if TYPE_CHECKING:
    from cronjobs.jobs import BaseCronJob


class Healthchecks(Monitor):
    OPTIONS: ClassVar[dict[str, Any]] = {
        "URL": None,
        "PING_KEY": None,
        "SLUG": None,
        "CREATE": True,
        "BASE_URL": "https://hc-ping.com",
        "EXIT_STATUS": True,
        "BODY_LIMIT": 10_000,
    }
    REQUIRED = (("URL", "PING_KEY"),)

    def started(self, job: type[BaseCronJob], run: Run) -> None:
        self._ping(job, run, "start", b"")

    def finished(self, job: type[BaseCronJob], run: Run) -> None:
        if run.status == Run.Status.SUCCEEDED:
            kind = ""
        else:
            kind = str(exit_status(run)) if self.options["EXIT_STATUS"] else "fail"
        self._ping(job, run, kind, output_tail(run, int(self.options["BODY_LIMIT"])).encode())

    def settled(self, job: type[BaseCronJob], run: Run) -> None:
        text = f"slot {words.moment(run.slot)} {words.status(run.status)}"
        if run.message:
            text += f": {run.message}"
        self._ping(job, run, "log", text.encode())

    def url(self, job: type[BaseCronJob], run: Run, kind: str) -> str:
        """The ping URL of one event (``kind``: ``"start"``, ``""``, ``"fail"``, an exit status, ``"log"``)."""
        query: list[tuple[str, str]] = []
        if self.options["URL"]:
            base = str(self.options["URL"])
        else:
            name = self.options["SLUG"] or slug(job.get_code())
            base = f"{str(self.options['BASE_URL']).rstrip('/')}/{self.options['PING_KEY']}/{name}"
            if self.options["CREATE"]:
                query.append(("create", "1"))
        parts = urllib.parse.urlsplit(base)
        path = parts.path.rstrip("/") + (f"/{kind}" if kind else "")
        query = [*urllib.parse.parse_qsl(parts.query), *query, ("rid", run_uuid(run))]
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path or "/", urllib.parse.urlencode(query), ""))

    def _ping(self, job: type[BaseCronJob], run: Run, kind: str, body: bytes) -> None:
        http.send(self.url(job, run, kind), body, timeout=self.timeout, retries=self.retries)
