"""The lease rows of ``lock = "database"``: one row per lock name, free when ``owner`` is empty."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Lease(models.Model):
    """Who holds a database lock and until when (the holder's heartbeat moves ``expires_at``)."""

    name = models.CharField(_("name"), max_length=191, primary_key=True)
    owner = models.CharField(_("owner"), max_length=255, blank=True, help_text=_("host:pid:token, empty when free"))
    acquired_at = models.DateTimeField(_("acquired"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        app_label = "cronjobs"
        verbose_name = _("lock lease")
        verbose_name_plural = _("lock leases")

    def __str__(self) -> str:
        return f"{self.name}: {self.owner or 'free'}"
