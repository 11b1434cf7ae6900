"""Prometheus metrics, computed from the database by whichever web process is scraped.

``runcrons`` lives for a minute at most, so it cannot hold metrics for a scraper; the
database holds everything they are made of. Include the view in your URLs::

    from cronjobs.ops.metrics import metrics_view

    urlpatterns = [..., path("cron/metrics", metrics_view)]

and protect it as you would any internal page (a network policy, or a decorator of your own
around the view). Needs ``prometheus-client`` (``pip install cronjobs[prometheus]``).

Per job (label ``job``, the job's code; registered jobs only):

- ``cronjobs_job_last_success_timestamp_seconds``: when its last successful run finished;
- ``cronjobs_job_last_duration_seconds``: how long its last finished run took;
- ``cronjobs_job_runs{status}``: its recorded runs by status (within ``KEEP_RUNS``);
- ``cronjobs_job_lateness_seconds``: how long ago its next slot came due without being
  settled (0 when it is not due yet, or paused): above a minute or two, cron is not running it;
- ``cronjobs_job_paused`` and ``cronjobs_job_failing`` (1 while a failing streak lasts).

Per task queue (label ``queue``, when ``cronjobs.tasks`` is installed):
``cronjobs_tasks_ready``, ``cronjobs_tasks_running``, ``cronjobs_tasks_failed``,
``cronjobs_tasks_oldest_ready_age_seconds``.

Three queries per scrape, whatever the number of jobs and runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cronjobs.jobs import BaseCronJob
from cronjobs.models import NOT_RUNS, Job, Run

if TYPE_CHECKING:
    from prometheus_client.core import Metric

Status = Run.Status
logger = logging.getLogger("cronjobs")


class CronJobsCollector:
    """A prometheus_client collector reading the job and task tables at ``now`` (default: each collect)."""

    def __init__(self, jobs: Mapping[str, type[BaseCronJob]] | None = None, now: datetime | None = None) -> None:
        self.jobs = jobs
        self.now = now

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        from cronjobs import registry

        now = self.now or timezone.now()
        if self.jobs is None:
            registry.refresh()  # each scrape sees the stored schedules as they are now
        jobs = self.jobs if self.jobs is not None else registry.get_jobs()
        codes = sorted(jobs)
        success = GaugeMetricFamily(
            "cronjobs_job_last_success_timestamp_seconds", "When the last successful run finished.", labels=["job"]
        )
        duration = GaugeMetricFamily(
            "cronjobs_job_last_duration_seconds", "How long the last finished run took.", labels=["job"]
        )
        runs = GaugeMetricFamily("cronjobs_job_runs", "Recorded runs by status.", labels=["job", "status"])
        lateness = GaugeMetricFamily(
            "cronjobs_job_lateness_seconds", "How long ago the next slot came due without being run.", labels=["job"]
        )
        paused = GaugeMetricFamily("cronjobs_job_paused", "1 when the job is paused.", labels=["job"])
        failing = GaugeMetricFamily("cronjobs_job_failing", "1 while the job is failing.", labels=["job"])

        finished = Run.objects.filter(job_id=OuterRef("code"), finished_at__isnull=False)
        rows = {
            row.code: row
            for row in Job.objects.filter(code__in=codes).annotate(
                last_success=Subquery(
                    finished.filter(status=Status.SUCCEEDED).order_by("-finished_at").values("finished_at")[:1]
                ),
                last_duration=Subquery(
                    finished.exclude(status__in=[*NOT_RUNS, Status.SKIPPED])
                    .order_by("-finished_at")
                    .values("duration")[:1]
                ),
            )
        }
        counts: dict[str, dict[str, int]] = {code: dict.fromkeys(Status.values, 0) for code in codes}
        for code, status, count in (
            Run.objects.filter(job_id__in=codes).values_list("job_id", "status").annotate(n=Count("pk")).order_by()
        ):
            counts[code][status] = count
        for code in codes:
            for status, count in counts[code].items():
                runs.add_metric([code, status], count)
            row = rows.get(code)
            if row is None:
                continue
            if row.last_success is not None:
                success.add_metric([code], row.last_success.timestamp())
            if row.last_duration is not None:
                duration.add_metric([code], row.last_duration)
            when, _ = row.next_run()
            lateness.add_metric([code], max(0.0, (now - when).total_seconds()) if when else 0.0)
            paused.add_metric([code], 1.0 if row.paused else 0.0)
            failing.add_metric([code], 1.0 if row.failing_since else 0.0)
        yield from (success, duration, runs, lateness, paused, failing)
        yield from _task_metrics(now)


def _task_metrics(now: datetime) -> Iterator[Metric]:
    from django.apps import apps

    if not apps.is_installed("cronjobs.tasks"):
        return
    from prometheus_client.core import GaugeMetricFamily

    from cronjobs.tasks.models import QueuedTask

    ready_now = Q(status=QueuedTask.Status.READY, run_after__lte=now)
    rows = (
        QueuedTask.objects.values("queue_name")
        .annotate(
            ready=Count("pk", filter=ready_now),
            running=Count("pk", filter=Q(status=QueuedTask.Status.RUNNING)),
            failed=Count("pk", filter=Q(status=QueuedTask.Status.FAILED)),
            oldest=Min("run_after", filter=ready_now),
        )
        .order_by("queue_name")
    )
    ready = GaugeMetricFamily("cronjobs_tasks_ready", "Tasks ready to run now.", labels=["queue"])
    running = GaugeMetricFamily("cronjobs_tasks_running", "Tasks running.", labels=["queue"])
    failed = GaugeMetricFamily("cronjobs_tasks_failed", "Tasks failed for good (kept until pruned).", labels=["queue"])
    age = GaugeMetricFamily(
        "cronjobs_tasks_oldest_ready_age_seconds", "How long the oldest ready task has been waiting.", labels=["queue"]
    )
    for row in rows:
        queue = [row["queue_name"]]
        ready.add_metric(queue, row["ready"])
        running.add_metric(queue, row["running"])
        failed.add_metric(queue, row["failed"])
        age.add_metric(queue, max(0.0, (now - row["oldest"]).total_seconds()) if row["oldest"] else 0.0)
    yield from (ready, running, failed, age)


def exposition(jobs: Mapping[str, type[BaseCronJob]] | None = None, now: datetime | None = None) -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    registry.register(CronJobsCollector(jobs, now))
    return generate_latest(registry), CONTENT_TYPE_LATEST


#: What the view answers (503) when prometheus-client is not installed (system check cronjobs.E160).
MISSING = (
    "cronjobs metrics need prometheus-client, which is not installed.\n"
    "Install the extra: pip install 'cronjobs[prometheus]' (or pip install prometheus-client).\n"
)


@require_GET
def metrics_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """The Prometheus scrape endpoint (see the module's docs)."""
    try:
        body, content_type = exposition()
    except ModuleNotFoundError as exc:
        if exc.name != "prometheus_client" and not (exc.name or "").startswith("prometheus_client."):
            raise
        logger.error("the metrics view was scraped, but prometheus-client is not installed (cronjobs.E160)")
        return HttpResponse(MISSING, status=503, content_type="text/plain; charset=utf-8")
    return HttpResponse(body, content_type=content_type)
