"""The queue in the admin: tasks read-only, with per-queue counts above the list."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from cronjobs import admin_display as display
from cronjobs.tasks.models import QueuedTask
from cronjobs.tasks.stats import queue_counts


@admin.register(QueuedTask)
class QueuedTaskAdmin(admin.ModelAdmin):
    list_display = ["task_path", "queue_name", "status", "priority", "attempts", "run_after_when", "finished", "error"]
    list_filter = ["status", "queue_name", "backend"]
    search_fields = ["=id", "task_path"]
    ordering = ["-enqueued_at"]
    date_hierarchy = "enqueued_at"
    actions = ["retry_now"]
    change_list_template = "admin/cronjobs_tasks/queuedtask/change_list.html"

    run_after_when = display.date_field("run_after", _("run after"))
    finished = display.date_field("finished_at", _("finished"))

    @admin.display(description=_("last error"))
    def error(self, obj: QueuedTask) -> str:
        return display.last_error(obj.errors)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in QueuedTask._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        extra_context = {**(extra_context or {}), "queue_counts": queue_counts()}
        return super().changelist_view(request, extra_context)  # type: ignore[return-value]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing to edit in the form; the permission is what "retry now" needs.
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Retry the selected failed tasks now", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.retry_failed()
        self.message_user(request, f"{count} failed task(s) queued again.")
