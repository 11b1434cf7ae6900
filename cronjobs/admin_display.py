"""What the admin pages show beside the models' own fields: list filters, dates, flags.

Kept out of :mod:`cronjobs.admin` so that the page classes stay short. Every date reads the
same way everywhere, ``2026-12-02 21:55:01 CET``, in the current time zone, with the zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from cronjobs import words
from cronjobs.models import FAILURES, Run

#: A next run this far in the past means nothing ran it: cron (or runcrons --loop) is not running.
STALE_AFTER = timedelta(minutes=2)


def when(moment: datetime | None, zone: Any = None) -> str:
    """``2026-12-02 21:55:01 CET``; in a narrow column the time goes under the date, never
    broken elsewhere; ``-`` for none."""
    if moment is None:
        return "-"
    day, _, time = words.moment(moment, zone).partition(" ")
    return format_html(
        '<span class="cronjobs-when"><span style="white-space:nowrap">{}</span> '
        '<span style="white-space:nowrap">{}</span></span>',
        day,
        time,
    )


def stale(moment: datetime | None, now: datetime) -> bool:
    """A scheduled run that should have happened a while ago."""
    return moment is not None and moment < now - STALE_AFTER


def stale_note() -> str:
    return format_html(
        '<br><strong class="cronjobs-stale" style="color:#ba2121" title="{}">{}</strong>',
        _("runcrons has not run this job although it is due: check the crontab entry, or runcrons --loop"),
        _("overdue: is cron running?"),
    )


def date_field(name: str, label: Any) -> Any:
    """A read-only display of a datetime field in :func:`when`'s format."""

    @admin.display(description=label, ordering=name)
    def show(self: Any, obj: Any) -> str:
        return when(getattr(obj, name))

    show.__name__ = f"{name}_when"
    return show


class FailingFilter(admin.SimpleListFilter):
    title = _("failing")
    parameter_name = "failing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Failing")), ("no", _("Not failing"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(failing_since__isnull=self.value() == "no")
        return queryset


class LastStatusFilter(admin.SimpleListFilter):
    title = _("last status")
    parameter_name = "last_status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        shown = [s for s in Run.Status if s not in (Run.Status.MISSED, Run.Status.SKIPPED)]
        return [*[(s.value, s.label) for s in shown], ("problem", _("Any failure")), ("never", _("Never ran"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "never":
            return queryset.filter(last_run_status__isnull=True)
        if value == "problem":
            return queryset.filter(last_run_status__in=list(FAILURES))
        if value:
            return queryset.filter(last_run_status=value)
        return queryset


def last_error(errors: list[dict[str, Any]]) -> str:
    """A task's last error in one line: ``RuntimeError: boom``."""
    if not errors:
        return "-"
    latest = errors[-1]
    lines = [line for line in str(latest.get("traceback", "")).strip().splitlines() if line.strip()]
    text = lines[-1].strip() if lines else str(latest.get("exception_class_path", "")).rsplit(".", 1)[-1]
    text = text if len(text) <= 100 else text[:97] + "..."
    return format_html('<span class="cronjobs-task-error" title="{}">{}</span>', "\n".join(lines[-20:]), text)


def task_errors(errors: list[dict[str, Any]]) -> str:
    """Each error of a task, oldest first: its exception and its traceback as it was printed."""
    if not errors:
        return "-"
    parts = [
        format_html(
            '<div class="cronjobs-task-error-entry"><strong>{}</strong>'
            '<pre style="white-space:pre-wrap;margin:4px 0 12px;max-height:30em;overflow:auto">{}</pre></div>',
            f"{index}. {error.get('exception_class_path', '?')}",
            str(error.get("traceback", "")).rstrip(),
        )
        for index, error in enumerate(errors, 1)
    ]
    return format_html("{}", mark_safe("".join(parts)))
