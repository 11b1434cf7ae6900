"""Telling people and monitors how runs went: failure mail and the monitors.

Both are receivers of :mod:`cronjobs.signals`, connected in ``CronJobsConfig.ready()``.
Neither can fail a job: errors are logged on the ``cronjobs`` logger.

- Mail (``CRONJOBS["MAIL_ADMINS"] = True``): a mail to ``ADMINS`` once when a job starts failing
  (a slot failed with no retry left), with the traceback, and once when it succeeds again.
  The streak lives on the job row (``failing_since``), set and cleared by compare-and-set,
  so however many processes run the job, each streak mails once.
- Monitors (``CRONJOBS["MONITORS"]``, a job's ``monitors`` and ``ping_url``): healthchecks.io,
  Cronitor, Sentry Crons; see :mod:`cronjobs.monitors`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from cronjobs import conf, monitors, words
from cronjobs.jobs import BaseCronJob
from cronjobs.models import FAILURES, Job, Run
from cronjobs.monitors import http

logger = logging.getLogger("cronjobs")

Status = Run.Status
#: Characters of output quoted in a failure mail.
MAIL_OUTPUT_LIMIT = 5_000


# -- receivers ---------------------------------------------------------------------------


def on_run_started(sender: type[BaseCronJob], run: Run, **kwargs: Any) -> None:
    monitors.run_started(sender, run)


def on_run_finished(sender: type[BaseCronJob], run: Run, **kwargs: Any) -> None:
    if run.status == Status.HANDED_OFF:
        return  # its task's final result settles the run later, and is announced then
    monitors.run_finished(sender, run)
    if run.status in (Status.SKIPPED, Status.MISSED, Status.RUNNING):
        return
    # An interrupted run is not retried; the others are, while the job has retries left.
    failed_for_good = run.status in FAILURES and (run.attempt > sender.retries or run.status == Status.INTERRUPTED)
    if run.status == Status.SUCCEEDED:
        _recovered(sender, run)
    elif failed_for_good:
        _failing(sender, run)


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
        f"Slot:     {words.moment(run.slot)}",
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
        f"The cron job {run.job_id} succeeded again at {words.moment(run.slot)} "
        f"(failing since {words.moment(since)}).\n" + (f"\nMessage: {run.message}\n" if run.message else "")
    )


# -- pings -----------------------------------------------------------------------------


def ping(url: str, body: bytes, *, timeout: float | None = None, retries: int = 1) -> bool:
    """POST ``body`` to ``url`` (see :func:`cronjobs.monitors.http.send`); never raises."""
    budget = float(conf.get("PING_TIMEOUT") if timeout is None else timeout)
    return http.send(url, body, timeout=budget, retries=retries)
