"""What people did to jobs (pause, resume, unlock, run now, forget; add, change or delete a stored
schedule), kept for the record."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import models, router
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("cronjobs")


class ActionQuerySet(models.QuerySet["Action"]):
    def record(self, code: str, kind: str, actor: str, now: datetime, detail: str = "") -> Action:
        """Keep that ``actor`` did ``kind`` to the job ``code`` at ``now``, and log it."""
        action = self.using(router.db_for_write(Action)).create(
            job_code=code, kind=kind, at=now, actor=actor, detail=detail
        )
        logger.info("%s: %s by %s%s", code, Action.Kind(kind).label, actor or "?", f" ({detail})" if detail else "")
        return action


class Action(models.Model):
    """Something a person did to a job (pause, resume, unlock, run now, forget), kept for the record."""

    class Kind(models.TextChoices):
        PAUSE = "pause", _("paused")
        RESUME = "resume", _("resumed")
        UNLOCK = "unlock", _("unlocked")
        RUN_NOW = "run_now", _("run requested")
        FORGET = "forget", _("forgotten")
        ADD = "add", _("schedule added")
        CHANGE = "change", _("schedule changed")
        DELETE = "delete", _("schedule deleted")

    job_code = models.CharField(_("job"), max_length=191, db_index=True)
    kind = models.CharField(_("action"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    actor = models.CharField(_("by"), max_length=255, blank=True)
    detail = models.TextField(_("detail"), blank=True)

    objects = ActionQuerySet.as_manager()

    class Meta:
        app_label = "cronjobs"
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.job_code} {self.get_kind_display()} by {self.actor or '?'}"
