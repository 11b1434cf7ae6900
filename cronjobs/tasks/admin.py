"""The queue in the admin: tasks read-only, with per-queue counts above the list."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
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
        return [*(field.name for field in QueuedTask._meta.fields), "errors_readable"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The errors as a person reads them (each attempt's traceback), not their JSON.
        return ["errors_readable" if name == "errors" else name for name in (f.name for f in QueuedTask._meta.fields)]

    @admin.display(description=_("errors"))
    def errors_readable(self, obj: QueuedTask) -> str:
        return display.task_errors(obj.errors)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        extra_context = {**(extra_context or {}), "queue_counts": queue_counts()}
        return super().changelist_view(request, extra_context)  # type: ignore[return-value]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing to edit in the form; the permission is what "retry now" needs.
        return obj is None and super().has_change_permission(request)

    @admin.action(
        description="Retry the selected failed tasks, or those waiting for their retry, now", permissions=["change"]
    )
    def retry_now(self, request: HttpRequest, queryset: Any) -> None:
        selected = queryset.count()
        failed = queryset.retry_failed()
        waiting = queryset.retry_waiting()
        done = []
        if failed:
            done.append(f"{failed} failed task(s) queued again, ready now")
        if waiting:
            done.append(f"{waiting} task(s) waiting for their retry made ready now")
        left = selected - failed - waiting
        if left:
            done.append(f"{left} left alone (ready, running or successful: nothing to retry)")
        level = messages.SUCCESS if failed or waiting else messages.WARNING
        self.message_user(request, "; ".join(done) + ".", level)
