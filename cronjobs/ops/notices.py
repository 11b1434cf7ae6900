"""Telling people and monitors how runs went: failure mail and health-check pings.

Both are receivers of :mod:`cronjobs.signals`, connected in ``CronJobsConfig.ready()``.
Neither can fail a job: errors are logged on the ``cronjobs`` logger.

- Mail (``CRONJOBS["MAIL_ADMINS"] = True``): a mail to ``ADMINS`` once when a job starts failing
  (a slot failed with no retry left), with the traceback, and once when it succeeds again.
  The streak lives on the job row (``failing_since``), set and cleared by compare-and-set,
  so however many processes run the job, each streak mails once.
- Pings (``ping_url`` on a job): healthchecks.io style. ``<url>/start`` when the run starts,
  ``<url>`` on success, ``<url>/fail`` on failure, each with ``?rid=<run uuid>`` and the tail of
  the run's output as the body. All attempts together (one retry) stay within
  ``CRONJOBS["PING_TIMEOUT"]`` seconds.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
import uuid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from cronjobs import conf
from cronjobs.jobs import BaseCronJob
from cronjobs.models import FAILURES, Job, Run

logger = logging.getLogger("cronjobs")

Status = Run.Status
#: Characters of output sent as a ping's body.
PING_BODY_LIMIT = 10_000
#: Characters of output quoted in a failure mail.
MAIL_OUTPUT_LIMIT = 5_000
_RUN_NAMESPACE = uuid.UUID("5f0c4b8e-4a52-4d0e-9d0e-6c1f5b0e2c11")


# -- receivers ---------------------------------------------------------------------------


def on_run_started(sender: type[BaseCronJob], run: Run, **kwargs: Any) -> None:
    if sender.ping_url:
        ping(ping_url(sender.ping_url, "start", run), b"")


def on_run_finished(sender: type[BaseCronJob], run: Run, **kwargs: Any) -> None:
    if run.status in (Status.SKIPPED, Status.MISSED, Status.RUNNING, Status.HANDED_OFF):
        return
    # An interrupted run is not retried; the others are, while the job has retries left.
    failed_for_good = run.status in FAILURES and (run.attempt > sender.retries or run.status == Status.INTERRUPTED)
    if run.status == Status.SUCCEEDED:
        _recovered(sender, run)
    elif failed_for_good:
        _failing(sender, run)
    if sender.ping_url:
        kind = "" if run.status == Status.SUCCEEDED else "fail"
        ping(ping_url(sender.ping_url, kind, run), ping_body(run))


# -- mail ------------------------------------------------------------------------------


def _failing(job: type[BaseCronJob], run: Run) -> None:
    if Job.objects.start_failing(run.job_id, run.finished_at or timezone.now()) and conf.get("MAIL_ADMINS"):
        mail_admins(f"cron job {run.job_id} failed", failure_mail(run))
        logger.info("%s: failure mailed to the admins", run.job_id)


def _recovered(job: type[BaseCronJob], run: Run) -> None:
    if Run.job.is_cached(run) and run.job.failing_since is None:
        return  # no streak when this runcrons read the job: nothing to end, no query
    since = Job.objects.stop_failing(run.job_id)
    if since is not None and conf.get("MAIL_ADMINS"):
        mail_admins(f"cron job {run.job_id} recovered", recovered_mail(run, since))
        logger.info("%s: recovery mailed to the admins", run.job_id)


def mail_admins(subject: str, body: str) -> None:
    """What Django's ``mail_admins`` does, for ``ADMINS`` in either form and without deprecation warnings.

    ``ADMINS`` is a list of addresses on Django 6 and a list of ``(name, address)`` pairs before;
    Django 6.1 warns about the pairs and Django 5.2 cannot read the addresses, so both are read
    here. The mail goes through the default mailer: ``MAILERS["default"]`` on Django 6.1, else
    ``EMAIL_BACKEND``.
    """
    recipients = admin_addresses(settings.ADMINS)
    if recipients:
        subject = f"{settings.EMAIL_SUBJECT_PREFIX}{subject}"
        EmailMessage(subject, body, settings.SERVER_EMAIL, recipients).send()


def admin_addresses(admins: Any) -> list[str]:
    """The addresses of an ``ADMINS`` setting: address strings, or ``(name, address)`` pairs."""
    return [entry if isinstance(entry, str) else entry[1] for entry in admins]


def failure_mail(run: Run) -> str:
    lines = [
        f"The cron job {run.job_id} failed: {run.message or run.get_status_display()}",
        "",
        f"Slot:     {run.slot.isoformat()}",
        f"Attempt:  {run.attempt}",
        f"Status:   {run.get_status_display()}",
        f"Host/pid: {run.hostname}/{run.pid}",
        f"Run id:   {run.pk}   (manage.py cronjobs history --run {run.pk})",
        "",
        "You get this mail once; the next one when the job succeeds again.",
    ]
    if run.traceback:
        lines += ["", "Traceback:", "", run.traceback.rstrip()]
    if run.output:
        lines += ["", "Output (end):", "", run.output[-MAIL_OUTPUT_LIMIT:].rstrip()]
    return "\n".join(lines) + "\n"


def recovered_mail(run: Run, since: Any) -> str:
    return (
        f"The cron job {run.job_id} succeeded again at {run.slot.isoformat()} "
        f"(failing since {since.isoformat()}).\n" + (f"\nMessage: {run.message}\n" if run.message else "")
    )


# -- pings -----------------------------------------------------------------------------


def run_uuid(run: Run) -> str:
    """A stable UUID for the run: the same in its start and its end ping."""
    return str(uuid.uuid5(_RUN_NAMESPACE, f"{run.job_id}:{run.pk}"))


def ping_url(base: str, kind: str, run: Run) -> str:
    parts = urllib.parse.urlsplit(base)
    path = parts.path.rstrip("/") + (f"/{kind}" if kind else "")
    query = urllib.parse.urlencode([*urllib.parse.parse_qsl(parts.query), ("rid", run_uuid(run))])
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path or "/", query, ""))


def ping_body(run: Run) -> bytes:
    text = run.output
    if run.status != Status.SUCCEEDED and run.traceback:
        text = f"{text}\n{run.traceback}" if text else run.traceback
    return text[-PING_BODY_LIMIT:].encode()


def ping(url: str, body: bytes, *, timeout: float | None = None, retries: int = 1) -> bool:
    """POST ``body`` to ``url``; one retry on errors; never longer than ``timeout`` in all.

    Returns whether the monitor answered with a 2xx status. Never raises.
    """
    import urllib.error  # here, not at the top: it costs every Django process ~10 ms to import
    import urllib.request

    budget = float(conf.get("PING_TIMEOUT") if timeout is None else timeout)
    deadline = time.monotonic() + budget
    for attempt in range(retries + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0.01:
            break
        request = urllib.request.Request(url, data=body, method="POST", headers={"User-Agent": "cronjobs"})
        try:
            with urllib.request.urlopen(request, timeout=remaining) as response:
                if 200 <= response.status < 300:
                    return True
                problem = f"status {response.status}"
        except urllib.error.HTTPError as exc:
            problem = f"status {exc.code}"
            if exc.code < 500:
                logger.warning("ping %s failed: %s", _safe(url), problem)
                return False
        except (OSError, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        logger.warning("ping %s failed (attempt %d): %s", _safe(url), attempt + 1, problem)
        if attempt < retries:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    return False


def _safe(url: str) -> str:
    """The URL without its query string, for log lines."""
    return urllib.parse.urlsplit(url)._replace(query="").geturl()
