"""The admin: a "Cron jobs" page with actions, and read-only run records.

"Run now" never runs a job inside the web request: it marks the job, and the next
``runcrons`` (within a minute, where cron calls it) runs it once as a forced run, under its
lock, with its timeout, signals and record, like any other run. Acting on jobs (run now,
pause, resume, unlock) needs the "change cron job" permission; forgetting a job that is no
longer in code (its state and runs deleted) needs "delete cron job". Runs are read-only.
Stored schedules (jobs edited here, without a deploy) have their own page.
"""

from __future__ import annotations

from datetime import timezone as dt_timezone
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from cronjobs import admin_display as display
from cronjobs import registry, words
from cronjobs.exceptions import CronJobsError
from cronjobs.models import NOT_RUNS, Action, Job, Run, StoredSchedule
from cronjobs.ops import actions, charts, maintenance, overview

#: Badge colours by status (the admin's own greens, reds and blues).
COLOURS: dict[str, str] = {
    Run.Status.SUCCEEDED: "#417505",
    Run.Status.FAILED: "#ba2121",
    Run.Status.TIMED_OUT: "#ba2121",
    Run.Status.CRASHED: "#ba2121",
    Run.Status.INTERRUPTED: "#a0522d",
    Run.Status.SKIPPED: "#666666",
    Run.Status.MISSED: "#666666",
    Run.Status.RUNNING: "#205067",
    Run.Status.HANDED_OFF: "#205067",
}


def badge(value: str, label: str) -> str:
    return format_html(
        '<span class="cronjobs-status cronjobs-status-{}" style="background:{};color:#fff;padding:2px 6px;'
        'border-radius:3px;white-space:nowrap">{}</span>',
        value,
        COLOURS.get(value, "#666666"),
        label,
    )


def _actor(request: HttpRequest) -> str:
    return f"{request.user.get_username()} (admin)"


_local = display.when


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    # Five columns, so that the list fits beside the admin's sidebar and the filters at 1400 px:
    # "paused" shows in the next run, the last run's status, time and duration share a column.
    list_display = ["code", "schedule_words", "next_run", "last_run", "lock"]
    list_display_links = ["code"]
    list_filter = [display.FailingFilter, "paused", display.LastStatusFilter]
    search_fields = ["code"]
    actions = ["run_now", "pause", "resume", "unlock", "forget"]
    change_list_template = "admin/cronjobs/job/change_list.html"
    change_form_template = "admin/cronjobs/job/change_form.html"
    readonly_fields = [
        "code",
        "schedule_words",
        "next_run",
        "paused_state",
        "failing_since_when",
        "run_requested_when",
        "first_seen_when",
        "watermark_when",
        "next_slot_when",
        "retry_at_when",
        "retry_slot_when",
        "retry_attempt",
        "lock",
        "runs_link",
        "run_charts",
    ]
    fields = list(readonly_fields)
    failing_since_when = display.date_field("failing_since", _("failing since"))
    run_requested_when = display.date_field("run_requested", _("run requested"))
    first_seen_when = display.date_field("first_seen", _("first seen"))
    watermark_when = display.date_field("watermark", _("settled up to"))
    next_slot_when = display.date_field("next_slot", _("next slot"))
    retry_at_when = display.date_field("retry_at", _("retry at"))
    retry_slot_when = display.date_field("retry_slot", _("retry slot"))

    # -- what is shown ---------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        registry.refresh()  # the stored schedules as they are now
        # Registered jobs that runcrons has not seen yet are listed too: they start from now.
        Job.objects.ensure(registry.get_jobs(), timezone.now())
        switch = maintenance.current()
        if switch is not None and request.method == "GET":
            self.message_user(request, maintenance.banner(switch), messages.WARNING)
        return super().changelist_view(request, {"title": _("Cron jobs"), **(extra_context or {})})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        last = Run.objects.filter(job_id=OuterRef("pk")).exclude(status__in=NOT_RUNS).order_by("-slot", "-attempt")
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_run_status=Subquery(last.values("status")[:1]),
                last_run_started=Subquery(last.values("started_at")[:1]),
                last_run_duration=Subquery(last.values("duration")[:1]),
            )
        )

    @admin.display(description=_("schedule"))
    def schedule_words(self, obj: Job) -> str:
        job = registry.get_jobs().get(obj.code)
        if job is None:
            return str(_("not registered any more"))
        text = overview.describe(job)
        zone = f" ({job.get_timezone()})"
        if not text.endswith(zone):
            return format_html('<span class="cronjobs-schedule">{}</span>', text)
        return format_html(
            '<span class="cronjobs-schedule">{}</span><br><small class="cronjobs-zone">{}</small>',
            text.removesuffix(zone),
            zone.strip(" ()"),
        )

    @admin.display(description=_("next run"), ordering="next_slot")
    def next_run(self, obj: Job) -> str:
        job = registry.get_jobs().get(obj.code)
        if job is None:
            return "-"
        moment, reason = obj.next_run()
        if reason == "requested":
            return str(_("at the next runcrons (run requested)"))
        if moment is None:
            return badge("paused", str(_("paused")))
        now = timezone.now()
        return format_html(
            '<span title="{} UTC">{}</span><br><small>{}</small>{}',
            f"{moment.astimezone(dt_timezone.utc):%Y-%m-%d %H:%M:%S}",
            display.when(moment, ZoneInfo(job.get_timezone())),
            overview.relative(moment, now) + (" (retry)" if reason == "retry" else ""),
            display.stale_note() if display.stale(moment, now) else "",
        )

    @admin.display(description=_("paused"), ordering="paused")
    def paused_state(self, obj: Job) -> str:
        # Words, not Django's red cross: a cross on every healthy job reads as an alarm.
        return badge("paused", str(_("paused"))) if obj.paused else str(_("no"))

    @admin.display(description=_("last run"), ordering="last_run_started")
    def last_run(self, obj: Job) -> str:
        """The last run's status, how long it took and when it started, and a link to every run."""
        value = getattr(obj, "last_run_status", None)
        url = reverse("admin:cronjobs_run_changelist") + "?" + urlencode({"job__code__exact": obj.code})
        if value is None:
            return format_html('{}<br><small><a href="{}">{}</a></small>', _("never ran"), url, _("runs"))
        took = getattr(obj, "last_run_duration", None)
        return format_html(
            '{} {}<br><small>{}</small><br><small><a href="{}">{}</a></small>',
            badge(value, words.status(value)),
            "" if took is None else format_html('<span style="white-space:nowrap">{}</span>', words.duration(took)),
            _local(getattr(obj, "last_run_started", None)),
            url,
            _("all runs"),
        )

    @admin.display(description=_("lock"))
    def lock(self, obj: Job) -> str:
        job = registry.get_jobs().get(obj.code)
        holder = overview.lock_holder(job) if job else None
        if not holder:
            return str(_("free"))
        return format_html(
            '<span class="cronjobs-lock-held" title="{}">{} {}</span>',
            holder,
            _("held by"),
            ":".join(holder.split(":")[:2]),
        )

    @admin.display(description=_("runs"))
    def runs_link(self, obj: Job) -> str:
        url = reverse("admin:cronjobs_run_changelist") + "?" + urlencode({"job__code__exact": obj.code})
        return format_html('<a href="{}">{}</a>', url, _("runs"))

    # -- permissions: nothing to add or delete by hand; acting needs "change" -------------

    @admin.display(description=_("last runs"))
    def run_charts(self, obj: Job) -> str:
        job = registry.get_jobs().get(obj.code)
        return charts.job_charts(obj, job, timezone.now(), ZoneInfo(job.get_timezone() if job else "UTC"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        # No delete button, page or bulk delete: "forget" (jobs no longer in code) is the one way.
        return False

    def has_forget_permission(self, request: HttpRequest) -> bool:
        """Forgetting deletes a job's state and runs: Django's "delete cron job" permission."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.delete_{opts.model_name}")

    def has_change_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        # The form has nothing to edit; the permission is what the actions need.
        return obj is None and super().has_change_permission(request)

    # -- the job page's buttons: the list's actions on this one job -----------------------

    #: Button name: (the action it runs, its label).
    BUTTONS: dict[str, tuple[str, Any]] = {
        "run_now": ("run_now", _("Run now (at the next runcrons)")),
        "pause": ("pause", _("Pause")),
        "resume": ("resume", _("Resume")),
        "unlock": ("unlock", _("Unlock")),
    }

    def get_urls(self) -> list[Any]:
        from django.urls import path

        act = self.admin_site.admin_view(self.act_view)
        return [path("<path:object_id>/act/<str:what>/", act, name="cronjobs_job_act"), *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        registry.refresh()
        return super().change_view(
            request, object_id, form_url, {**self._buttons(request, object_id), **(extra_context or {})}
        )

    def _buttons(self, request: HttpRequest, object_id: str) -> dict[str, Any]:
        """The buttons this user may press on this job's page (the list's actions need "change")."""
        row = Job.objects.filter(pk=object_id).first()
        job = registry.get_jobs().get(object_id)
        if row is None or job is None or not self.has_change_permission(request):
            return {"cronjobs_buttons": []}
        shown = ["run_now", "resume" if row.paused else "pause"]
        if overview.lock_holder(job):
            shown.append("unlock")
        return {
            "cronjobs_buttons": [
                (reverse("admin:cronjobs_job_act", args=[object_id, name]), name, self.BUTTONS[name][1])
                for name in shown
            ]
        }

    def act_view(self, request: HttpRequest, object_id: str, what: str) -> HttpResponse:
        """POST from a button of the job's page: run the list's action on this job, then back to its page."""
        from django.core.exceptions import PermissionDenied
        from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if what not in self.BUTTONS:
            raise Http404(what)
        if not self.has_change_permission(request):
            raise PermissionDenied
        queryset = Job.objects.filter(pk=object_id)
        if not queryset.exists():
            raise Http404(object_id)
        response = getattr(self, self.BUTTONS[what][0])(request, queryset)
        if response is not None:  # unlock's confirmation page: it posts back here
            return response
        return HttpResponseRedirect(reverse("admin:cronjobs_job_change", args=[object_id]))

    # -- actions ---------------------------------------------------------------------

    def _jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> list[Any]:
        jobs = registry.get_jobs()
        found = []
        for code in queryset.values_list("code", flat=True):
            if code in jobs:
                found.append(jobs[code])
            else:
                self.message_user(request, f"{code}: not registered any more; left alone.", messages.WARNING)
        return found

    @admin.action(description=_("Run now (at the next runcrons)"), permissions=["change"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        now = timezone.now()
        jobs = self._jobs(request, queryset)
        for job in jobs:
            actions.request_run(job, _actor(request), now)
        if jobs:
            codes = ", ".join(j.get_code() for j in jobs)
            self.message_user(request, f"The next runcrons runs {codes} once, as a forced run.", messages.SUCCESS)

    @admin.action(description=_("Pause"), permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        now = timezone.now()
        done = [j.get_code() for j in self._jobs(request, queryset) if actions.pause(j, _actor(request), now)]
        if done:
            self.message_user(request, f"Paused: {', '.join(done)}.", messages.SUCCESS)
        else:
            self.message_user(request, "Nothing paused: already paused.", messages.WARNING)

    @admin.action(description=_("Resume (skip the slots missed while paused)"), permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        now = timezone.now()
        done = [j.get_code() for j in self._jobs(request, queryset) if actions.resume(j, _actor(request), now)]
        if done:
            self.message_user(request, f"Resumed: {', '.join(done)}.", messages.SUCCESS)
        else:
            self.message_user(request, "Nothing resumed: not paused.", messages.WARNING)

    @admin.action(description=_("Unlock (break a held lock)"), permissions=["change"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[Job]) -> HttpResponse | None:
        jobs = self._jobs(request, queryset)
        held = [(job, overview.lock_holder(job)) for job in jobs]
        held = [(job, holder) for job, holder in held if holder]
        if not held:
            # A warning, not INFO: Django's admin shows INFO in the green of a success.
            self.message_user(request, "No lock held: nothing to unlock.", messages.WARNING)
            return None
        if request.POST.get("confirmed") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Break these locks?"),
                "held": [(job.get_code(), holder) for job, holder in held],
                "queryset": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            }
            return TemplateResponse(request, "admin/cronjobs/job/unlock_confirmation.html", context)
        now = timezone.now()
        for job, _holder in held:
            try:
                broken = actions.unlock(job, _actor(request), now)
            except CronJobsError as exc:
                self.message_user(request, f"{job.get_code()}: {exc}", messages.ERROR)
                continue
            if broken:
                self.message_user(request, f"{job.get_code()}: lock broken (was held by {broken}).", messages.SUCCESS)
            else:
                self.message_user(request, f"{job.get_code()}: its lock was released meanwhile.", messages.WARNING)
        return None

    @admin.action(description=_("Forget (jobs no longer in code: delete their state and runs)"), permissions=["forget"])
    def forget(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        registered = registry.get_jobs()
        codes = list(queryset.values_list("code", flat=True))
        kept = [code for code in codes if code in registered]
        if kept:
            self.message_user(request, f"Still in code, left alone: {', '.join(kept)}.", messages.WARNING)
        gone = [code for code in codes if code not in registered]
        if gone:
            done = actions.forget(gone, registered, _actor(request), timezone.now())
            self.message_user(request, f"Forgotten: {', '.join(done)}.", messages.SUCCESS)


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    # Seven columns, to fit beside the sidebar and the filters at 1400 px: the attempt and
    # "forced" show beside the status; when it started is on the run's page.
    list_display = ["id", "job_link", "slot_local", "status_noted", "duration_s", "host", "short"]
    change_list_template = "admin/cronjobs/run/change_list.html"
    list_display_links = ["id", "slot_local"]
    list_filter = ["status", "job", ("started_at", admin.DateFieldListFilter), "forced"]
    search_fields = ["job__code", "message", "hostname"]
    list_select_related = False
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["job_link", "slot_local", "attempt", "forced", "status_badge", "message"]}),
        (_("When and where"), {"fields": ["started", "finished", "duration_s", "hostname", "pid"]}),
        (_("Handed-off task"), {"fields": ["task_backend", "task_id"], "classes": ["collapse"]}),
        (_("Traceback"), {"fields": ["traceback_pre"]}),
        (_("Output"), {"fields": ["output_pre"]}),
    ]
    readonly_fields = [
        "job_link",
        "slot_local",
        "attempt",
        "forced",
        "status_badge",
        "message",
        "started",
        "finished",
        "duration_s",
        "hostname",
        "pid",
        "task_backend",
        "task_id",
        "traceback_pre",
        "output_pre",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        # The list never needs the big text columns.
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "cronjobs_run_changelist":
            queryset = queryset.defer("traceback", "output")
        return queryset

    @admin.display(description=_("job"), ordering="job_id")
    def job_link(self, obj: Run) -> str:
        url = reverse("admin:cronjobs_job_change", args=[quote(obj.job_id)])
        return format_html('<a class="cronjobs-job" href="{}">{}</a>', url, obj.job_id)

    finished = display.date_field("finished_at", _("finished"))

    @admin.display(description=_("slot"), ordering="slot")
    def slot_local(self, obj: Run) -> str:
        return _local(obj.slot)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: Run) -> str:
        return badge(obj.status, words.status(obj.status))

    @admin.display(description=_("status"), ordering="status")
    def status_noted(self, obj: Run) -> str:
        """The status, with the attempt after the first and "forced" (the list has no columns for them)."""
        notes = [f"#{obj.attempt}"] if obj.attempt > 1 else []
        notes += [str(_("forced"))] if obj.forced else []
        if not notes:
            return badge(obj.status, words.status(obj.status))
        return format_html("{} <small>{}</small>", badge(obj.status, words.status(obj.status)), " ".join(notes))

    def get_fieldsets(self, request: HttpRequest, obj: Run | None = None) -> Any:
        # The handed-off task's section only for runs that handed their work off.
        return [
            fs
            for fs in super().get_fieldsets(request, obj)
            if obj is None or obj.task_id or fs[1]["fields"][0] != "task_backend"
        ]

    @admin.display(description=_("started"), ordering="started_at")
    def started(self, obj: Run) -> str:
        return _local(obj.started_at)

    @admin.display(description=_("took"), ordering="duration")
    def duration_s(self, obj: Run) -> str:
        if obj.duration is None:
            return "-"
        return format_html('<span style="white-space:nowrap">{}</span>', words.duration(obj.duration))

    @admin.display(description=_("host"), ordering="hostname")
    def host(self, obj: Run) -> str:
        return f"{obj.hostname}:{obj.pid}" if obj.hostname else "-"

    @admin.display(description=_("message"))
    def short(self, obj: Run) -> str:
        text = " ".join(obj.message.split())
        return text if len(text) <= 80 else text[:77] + "..."

    @admin.display(description=_("traceback"))
    def traceback_pre(self, obj: Run) -> str:
        return _pre(obj.traceback, "cronjobs-traceback")

    @admin.display(description=_("output"))
    def output_pre(self, obj: Run) -> str:
        return _pre(obj.output, "cronjobs-output")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        return False  # records: retention (KEEP_RUNS, ``cronjobs prune``) deletes them


def _pre(text: str, css_class: str) -> str:
    if not text:
        return "-"
    return format_html(
        '<pre class="{}" style="white-space:pre-wrap;margin:0;max-height:40em;overflow:auto">{}</pre>', css_class, text
    )


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["at_when", "job_code", "kind", "actor", "detail"]
    at_when = display.date_field("at", _("at"))
    list_filter = ["kind", "at"]
    search_fields = ["job_code", "actor", "detail"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Action | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Action | None = None) -> bool:
        return False


@admin.register(StoredSchedule)
class StoredScheduleAdmin(admin.ModelAdmin):
    """Schedules edited here, without a deploy: add, change, enable, disable, delete.

    Each form is validated with the system checks' rules and messages; each change is recorded
    as an Action (who, what, when) and applies at the next ``runcrons``. Django's permissions
    decide: "add", "change" (also to enable or disable) and "delete stored schedule"."""

    list_display = ["name", "what", "when", "enabled", "job_link", "changed_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "description", "task", "command"]
    actions = ["enable", "disable"]
    fieldsets = [
        (None, {"fields": ["name", "description", "enabled"]}),
        (_("What runs"), {"fields": ["task", "command", "args", "kwargs"]}),
        (_("When"), {"fields": ["schedule", "interval", "timezone"]}),
    ]

    @admin.display(description=_("what"))
    def what(self, obj: StoredSchedule) -> str:
        return f"task {obj.task}" if obj.task else f"command {obj.command}"

    @admin.display(description=_("when"))
    def when(self, obj: StoredSchedule) -> str:
        job = registry.get_jobs().get(obj.code)
        if job is not None and job.__module__ == "cronjobs.stored":
            return overview.describe(job)
        return obj.schedule or f"every {obj.interval}"

    @admin.display(description=_("job"))
    def job_link(self, obj: StoredSchedule) -> str:
        url = reverse("admin:cronjobs_job_change", args=[quote(obj.code)])
        return format_html('<a class="cronjobs-job" href="{}">{}</a>', url, obj.code)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        registry.refresh()
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: StoredSchedule, form: Any, change: bool) -> None:
        was = None
        if change:
            was = actions.schedule_state(StoredSchedule.objects.get(pk=obj.pk))
        actions.save_schedule(obj, was, _actor(request), timezone.now())

    def delete_model(self, request: HttpRequest, obj: StoredSchedule) -> None:
        actions.delete_schedule(obj, _actor(request), timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[StoredSchedule]) -> None:
        now = timezone.now()
        for row in queryset:
            actions.delete_schedule(row, _actor(request), now)

    @admin.action(description=_("Enable (resume: the slots missed while disabled are skipped)"), permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[StoredSchedule]) -> None:
        self._switch(request, queryset, True)

    @admin.action(description=_("Disable (pause)"), permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[StoredSchedule]) -> None:
        self._switch(request, queryset, False)

    def _switch(self, request: HttpRequest, queryset: QuerySet[StoredSchedule], enabled: bool) -> None:
        now = timezone.now()
        done = [row.code for row in queryset if actions.set_schedule_enabled(row, enabled, _actor(request), now)]
        word = "Enabled" if enabled else "Disabled"
        if done:
            self.message_user(request, f"{word}: {', '.join(done)}.", messages.SUCCESS)
        else:
            self.message_user(request, f"Nothing {word.lower()}: already so.", messages.WARNING)
