"""Schedules kept in the database and edited in the admin: a task or a command, its arguments,
its expression or interval, its zone, and whether it is enabled.

Each enabled or disabled row is a job of code ``db.<name>`` (:mod:`cronjobs.stored` builds its
class), run by the same engine as the job classes in code. Disabled is paused: the row's
``enabled`` and its job's ``paused`` are one switch, kept together by :meth:`StoredSchedule.save`
and by :mod:`cronjobs.ops.actions` (pausing ``db.<name>`` disables its row).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, router
from django.utils.translation import gettext_lazy as _

#: The code of a stored schedule's job is this followed by its name.
PREFIX = "db."


class StoredScheduleQuerySet(models.QuerySet["StoredSchedule"]):
    def of(self, code: str) -> StoredScheduleQuerySet:
        """The row of job ``code`` (none for a job in code)."""
        if not code.startswith(PREFIX):
            return self.none()
        return self.using(router.db_for_write(StoredSchedule)).filter(name=code.removeprefix(PREFIX))

    def set_enabled(self, code: str, enabled: bool) -> bool:
        """Its job was paused or resumed: the row says so too (no save(): the job is done already)."""
        return bool(self.of(code).exclude(enabled=enabled).update(enabled=enabled))


class StoredSchedule(models.Model):
    """A registered Django Tasks task or a management command, with JSON arguments, on a cron
    expression or an interval: a job edited in the admin, without a deploy."""

    name = models.SlugField(
        _("name"),
        max_length=100,
        unique=True,
        help_text=_("Letters, digits, - and _; its job's code is db. followed by this name."),
    )
    description = models.TextField(_("description"), blank=True)
    task = models.CharField(
        _("task"),
        max_length=255,
        blank=True,
        help_text=_("Dotted path of a Django Tasks task (myapp.tasks.send_report), enqueued once per slot."),
    )
    command = models.CharField(
        _("command"), max_length=100, blank=True, help_text=_("Or: a management command, run in the job.")
    )
    args = models.JSONField(_("arguments"), default=list, blank=True, help_text=_('A JSON list: ["a", 2].'))
    kwargs = models.JSONField(
        _("keyword arguments"), default=dict, blank=True, help_text=_('A JSON object: {"verbosity": 0}.')
    )
    schedule = models.CharField(
        _("cron expression"),
        max_length=255,
        blank=True,
        help_text=_("Five fields (*/5 * * * *) or @hourly, @daily...; or leave empty and set an interval."),
    )
    interval = models.DurationField(
        _("interval"), null=True, blank=True, help_text=_("Or: every this long (HH:MM:SS).")
    )
    timezone = models.CharField(
        _("time zone"), max_length=63, blank=True, help_text=_("IANA zone of the cron fields (default: TIME_ZONE).")
    )
    enabled = models.BooleanField(_("enabled"), default=True, help_text=_("Disabled is paused."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    objects = StoredScheduleQuerySet.as_manager()

    class Meta:
        app_label = "cronjobs"
        verbose_name = _("stored schedule")
        verbose_name_plural = _("stored schedules")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.code

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saved, and its job paused or resumed when ``enabled`` changed (disabled is paused)."""
        from cronjobs import stored

        was = None
        if self.pk is not None:
            was = type(self).objects.using(router.db_for_write(StoredSchedule)).filter(pk=self.pk).first()
        super().save(*args, **kwargs)
        stored.follow_switch(self, was)

    @property
    def code(self) -> str:
        """Its job's code."""
        return f"{PREFIX}{self.name}"

    def clean(self) -> None:
        """The rules and messages of the system checks (:func:`cronjobs.stored.problems`)."""
        from cronjobs import stored

        problems = stored.problems(self)
        if problems:
            raise ValidationError(problems)
