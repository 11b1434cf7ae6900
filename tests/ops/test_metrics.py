"""The Prometheus view: parsed by prometheus_client's own parser, values read back from the runs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cronjobs.engine.runner import Runner
from cronjobs.models import Job, Run
from cronjobs.ops.metrics import exposition
from cronjobs.tasks.models import QueuedTask
from tests.testapp.jobs import EveryMinute, Flaky

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
JOBS = {"test.every_minute": EveryMinute, "test.flaky": Flaky}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def history():
    Flaky.failing = True
    for minute in range(4):  # minute 0 sees the jobs; 1-3 run them
        Runner(JOBS, now=at(minute)).run()
    Flaky.failing = False
    Runner(JOBS, now=at(4)).run()


def test_job_metrics_match_the_recorded_runs(history, django_assert_num_queries):
    with django_assert_num_queries(3):  # jobs, runs by status, task queues
        body, content_type = exposition(JOBS, now=at(7.25))
    assert content_type.startswith("text/plain; version=")
    found = samples(body.decode())
    every = Run.objects.filter(job_id="test.every_minute", status="succeeded").order_by("-finished_at")
    flaky_last = Run.objects.filter(job_id="test.flaky").order_by("-finished_at").first()
    assert found[("cronjobs_job_last_success_timestamp_seconds", (("job", "test.every_minute"),))] == pytest.approx(
        every[0].finished_at.timestamp()
    )
    assert found[("cronjobs_job_last_duration_seconds", (("job", "test.flaky"),))] == pytest.approx(flaky_last.duration)
    assert found[("cronjobs_job_runs", (("job", "test.every_minute"), ("status", "succeeded")))] == 4
    assert found[("cronjobs_job_runs", (("job", "test.flaky"), ("status", "failed")))] == 3
    assert found[("cronjobs_job_runs", (("job", "test.flaky"), ("status", "succeeded")))] == 1
    assert found[("cronjobs_job_runs", (("job", "test.flaky"), ("status", "missed")))] == 0
    # The last runcrons (12:04:30) ran the 12:04 slot; the next one, 12:05, came due 2m45s before 12:07:45.
    assert found[("cronjobs_job_lateness_seconds", (("job", "test.every_minute"),))] == 165
    assert found[("cronjobs_job_failing", (("job", "test.flaky"),))] == 0
    Job.objects.pause("test.flaky")
    found = samples(exposition(JOBS, now=at(7.25))[0].decode())
    assert found[("cronjobs_job_paused", (("job", "test.flaky"),))] == 1
    assert found[("cronjobs_job_lateness_seconds", (("job", "test.flaky"),))] == 0


def test_a_failing_job_is_marked_failing():
    Flaky.failing = True
    Runner({"test.flaky": Flaky}, now=at(0)).run()
    Runner({"test.flaky": Flaky}, now=at(1)).run()
    found = samples(exposition({"test.flaky": Flaky}, now=at(1.5))[0].decode())
    assert found[("cronjobs_job_failing", (("job", "test.flaky"),))] == 1
    assert ("cronjobs_job_last_success_timestamp_seconds", (("job", "test.flaky"),)) not in found


def task(queue: str, status: str, run_after: datetime) -> QueuedTask:
    return QueuedTask.objects.create(
        task_path="tests.testapp.tasks.add",
        backend="default",
        queue_name=queue,
        status=status,
        enqueued_at=run_after,
        run_after=run_after,
        timeout=60,
    )


def test_queue_metrics_count_ready_running_failed_and_age_the_oldest_ready_task():
    now = at(10)
    task("default", "READY", at(4))
    task("default", "READY", at(9))
    task("default", "READY", at(12))  # not ready yet
    task("default", "RUNNING", at(8))
    task("mail", "FAILED", at(1))
    found = samples(exposition({}, now=now)[0].decode())
    assert {k: v for k, v in found.items() if k[0].startswith("cronjobs_tasks_")} == {
        ("cronjobs_tasks_ready", (("queue", "default"),)): 2,
        ("cronjobs_tasks_ready", (("queue", "mail"),)): 0,
        ("cronjobs_tasks_running", (("queue", "default"),)): 1,
        ("cronjobs_tasks_running", (("queue", "mail"),)): 0,
        ("cronjobs_tasks_failed", (("queue", "default"),)): 0,
        ("cronjobs_tasks_failed", (("queue", "mail"),)): 1,
        ("cronjobs_tasks_oldest_ready_age_seconds", (("queue", "default"),)): 360,
        ("cronjobs_tasks_oldest_ready_age_seconds", (("queue", "mail"),)): 0,
    }


def test_the_view_serves_the_exposition(client, settings):
    settings.CRONJOBS = {"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.EveryMinute"]}
    Runner({"test.every_minute": EveryMinute}, now=T0).run()
    response = client.get("/cron/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {"cronjobs_job_runs", "cronjobs_job_lateness_seconds", "cronjobs_tasks_ready"} <= names
    assert client.post("/cron/metrics").status_code == 405
