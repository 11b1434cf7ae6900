"""What runcrons remembers: one row per job (its state) and one per run."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cronjobs.locks.models import Lease  # noqa: F401  (the database lock's table)


class Job(models.Model):
    """The state that decides what is due: one row per job code, whatever the history."""

    code = models.CharField(_("code"), max_length=191, primary_key=True)
    first_seen = models.DateTimeField(_("first seen"))
    watermark = models.DateTimeField(
        _("settled up to"), help_text=_("Slots at or before this time are settled: run, missed or skipped.")
    )
    schedule_key = models.CharField(_("schedule"), max_length=255)
    next_slot = models.DateTimeField(_("next slot"))
    paused = models.BooleanField(_("paused"), default=False)
    retry_at = models.DateTimeField(_("retry at"), null=True, blank=True)
    retry_slot = models.DateTimeField(_("retry slot"), null=True, blank=True)
    retry_attempt = models.PositiveIntegerField(_("retry attempt"), null=True, blank=True)
    run_requested = models.DateTimeField(
        _("run requested"), null=True, blank=True, help_text=_("The next runcrons runs the job once, as forced.")
    )
    failing_since = models.DateTimeField(
        _("failing since"), null=True, blank=True, help_text=_("Start of the current streak of failed slots.")
    )

    class Meta:
        verbose_name = _("cron job")
        verbose_name_plural = _("cron jobs")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Run(models.Model):
    """One run of a job, or one slot it did not run (missed, skipped)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        TIMED_OUT = "timed_out", _("timed out")
        SKIPPED = "skipped", _("skipped")
        MISSED = "missed", _("missed")
        CRASHED = "crashed", _("crashed")
        INTERRUPTED = "interrupted", _("interrupted")

    # No database-level constraint: the job row always exists first, and MySQL's foreign-key
    # checks would take shared locks on it that deadlock concurrent claims.
    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="runs", db_column="job_code", db_constraint=False
    )
    slot = models.DateTimeField(_("slot"))
    attempt = models.PositiveIntegerField(_("attempt"), default=1)
    forced = models.BooleanField(_("forced"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    duration = models.FloatField(_("duration (s)"), null=True, blank=True)
    hostname = models.CharField(_("host"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("pid"), null=True, blank=True)
    lease_until = models.DateTimeField(
        _("alive until"), null=True, blank=True, help_text=_("Renewed while running; past it, the run crashed.")
    )
    message = models.TextField(_("message"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)
    output = models.TextField(_("output"), blank=True)

    class Meta:
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        ordering = ["-slot", "-attempt"]
        constraints = [
            models.UniqueConstraint(fields=["job", "slot", "attempt"], name="cronjobs_run_one_claim_per_slot"),
        ]
        indexes = [
            models.Index(fields=["status", "started_at"], name="cronjobs_run_status"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id} {self.slot:%Y-%m-%d %H:%M} #{self.attempt}: {self.status}"


class Action(models.Model):
    """Something a person did to a job (pause, resume, unlock, run now), kept for the record."""

    class Kind(models.TextChoices):
        PAUSE = "pause", _("paused")
        RESUME = "resume", _("resumed")
        UNLOCK = "unlock", _("unlocked")
        RUN_NOW = "run_now", _("run requested")

    job_code = models.CharField(_("job"), max_length=191, db_index=True)
    kind = models.CharField(_("action"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    actor = models.CharField(_("by"), max_length=255, blank=True)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.job_code} {self.get_kind_display()} by {self.actor or '?'}"
