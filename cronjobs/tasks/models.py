"""The queue: one row per enqueued task, its result, and its attempts."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class QueuedTask(models.Model):
    """A task enqueued through :class:`cronjobs.tasks.DatabaseBackend`, and what became of it."""

    class Status(models.TextChoices):
        READY = "READY", _("ready")
        RUNNING = "RUNNING", _("running")
        FAILED = "FAILED", _("failed")
        SUCCESSFUL = "SUCCESSFUL", _("successful")

    id = models.UUIDField(_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    task_path = models.CharField(_("task"), max_length=255)
    backend = models.CharField(_("backend"), max_length=64)
    queue_name = models.CharField(_("queue"), max_length=64)
    priority = models.SmallIntegerField(_("priority"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.READY)
    args = models.JSONField(_("arguments"), default=list)
    kwargs = models.JSONField(_("keyword arguments"), default=dict)
    run_after = models.DateTimeField(
        _("run after"), help_text=_("Ready from this moment: the requested time, the enqueue time, or a retry's.")
    )
    deferred = models.BooleanField(_("deferred"), default=False, help_text=_("Enqueued with run_after."))
    enqueued_at = models.DateTimeField(_("enqueued"))
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    last_attempted_at = models.DateTimeField(_("last attempted"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveIntegerField(_("max attempts"), default=1)
    timeout = models.FloatField(_("timeout (s)"))
    worker_id = models.CharField(_("worker"), max_length=255, blank=True, help_text=_("Holder of the running attempt."))
    worker_ids = models.JSONField(_("workers"), default=list)
    return_value = models.JSONField(_("return value"), null=True, blank=True)
    errors = models.JSONField(_("errors"), default=list)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            # The claim walks this index in order: status = READY, highest priority first,
            # then the oldest run_after; it stops at the first ready row.
            models.Index(fields=["status", "-priority", "run_after"], name="cronjobs_task_claim"),
            models.Index(fields=["status", "finished_at"], name="cronjobs_task_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.task_path} {self.id}: {self.status}"
