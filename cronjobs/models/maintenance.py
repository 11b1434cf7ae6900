"""Maintenance mode: one switch for every job, kept in the database so that every host sees it.

While it is on, runcrons runs only the jobs marked ``run_in_maintenance = True`` (and runs people
request); the others run again from the moment it is turned off, the slots in between skipped,
as after ``pause``/``resume``. The switch is a single row: present means on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, models, router, transaction
from django.utils.translation import gettext_lazy as _

from cronjobs import words

if TYPE_CHECKING:
    from cronjobs.jobs import BaseCronJob

#: The primary key of the one row.
ON = 1


class MaintenanceQuerySet(models.QuerySet["Maintenance"]):
    """Reads and flips of the switch."""

    def writable(self) -> MaintenanceQuerySet:
        return self.using(router.db_for_write(Maintenance))

    def current(self) -> Maintenance | None:
        """The switch when it is on, else None (one query)."""
        return self.writable().filter(pk=ON).first()

    def turn_on(self, actor: str, now: datetime) -> bool:
        """Turn maintenance mode on; False when it was on already."""
        database = router.db_for_write(Maintenance)
        try:
            with transaction.atomic(using=database):
                Maintenance(pk=ON, since=now, actor=actor).save(force_insert=True, using=database)
        except IntegrityError:
            return False
        return True

    def turn_off(self, jobs: Iterable[type[BaseCronJob]], now: datetime) -> Maintenance | None:
        """Turn maintenance mode off; the jobs it held run again from ``now`` on. Returns the
        switch as it was, or None when it was off."""
        from cronjobs.models.jobs import Job

        with transaction.atomic(using=router.db_for_write(Maintenance)):
            switch = self.writable().select_for_update().filter(pk=ON).first()
            if switch is None:
                return None
            self.writable().filter(pk=ON).delete()
            for job in jobs:
                if not job.run_in_maintenance:
                    Job.objects.restart(job, now)
        return switch


class Maintenance(models.Model):
    """Present while maintenance mode is on."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=ON)
    since = models.DateTimeField(_("since"))
    actor = models.CharField(_("by"), max_length=255, blank=True)

    objects = MaintenanceQuerySet.as_manager()

    class Meta:
        app_label = "cronjobs"
        verbose_name = _("maintenance mode")
        verbose_name_plural = _("maintenance mode")

    def __str__(self) -> str:
        return f"maintenance mode since {words.moment(self.since)} by {self.actor or '?'}"
