"""The admin pages: filters, badges, dates with their zone, links, the task list's errors,
and a next run that should have happened flagged."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from django.test.utils import override_settings
from django.urls import reverse

from cronjobs.engine.runner import Runner
from cronjobs.models import Job, Run
from cronjobs.ops import actions
from cronjobs.tasks.worker import Worker
from tests.testapp import tasks
from tests.testapp.jobs import EveryMinute, Flaky, Hourly

pytestmark = pytest.mark.django_db
JOBS = ["tests.testapp.jobs.EveryMinute", "tests.testapp.jobs.Flaky", "tests.testapp.jobs.Hourly"]
JOB_LIST = reverse("admin:cronjobs_job_changelist")
RUN_LIST = reverse("admin:cronjobs_run_changelist")
DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


@pytest.fixture(autouse=True)
def jobs(tmp_path):
    settings = {"AUTODISCOVER": False, "JOBS": JOBS, "LOCK_DIR": str(tmp_path / "locks")}
    with override_settings(CRONJOBS=settings, TIME_ZONE="Europe/Berlin"):
        yield


@pytest.fixture
def ran():
    now = datetime.now(timezone.utc)
    Runner({"test.every_minute": EveryMinute, "test.flaky": Flaky}, now=now, force=True).run()
    Job.objects.ensure({"test.hourly": Hourly}, now)


def codes(client, **query) -> list[str]:
    page = client.get(JOB_LIST, query).content.decode()
    return re.findall(r'<th class="field-code"><a href="[^"]+">([^<]+)</a>', page)


def test_the_job_list_filters_by_failing_paused_and_last_status(admin_client, ran):
    actions.pause(Hourly, "test", datetime.now(timezone.utc))
    assert codes(admin_client, failing="yes") == ["test.flaky"]
    assert codes(admin_client, failing="no") == ["test.every_minute", "test.hourly"]
    assert codes(admin_client, paused__exact="1") == ["test.hourly"]
    assert codes(admin_client, last_status="failed") == ["test.flaky"]
    assert codes(admin_client, last_status="problem") == ["test.flaky"]
    assert codes(admin_client, last_status="succeeded") == ["test.every_minute"]
    assert codes(admin_client, last_status="never") == ["test.hourly"]


def test_only_a_paused_job_is_marked_and_no_healthy_job_gets_a_red_cross(admin_client, ran):
    page = admin_client.get(JOB_LIST).content.decode()
    assert "icon-no" not in page and "cronjobs-status-paused" not in page
    actions.pause(Hourly, "test", datetime.now(timezone.utc))
    page = admin_client.get(JOB_LIST).content.decode()
    assert page.count("cronjobs-status-paused") == 1 and "icon-no" not in page


def test_every_date_reads_the_same_way_with_its_zone(admin_client, ran):
    pages = [
        admin_client.get(JOB_LIST).content.decode(),
        admin_client.get(RUN_LIST).content.decode(),
        admin_client.get(reverse("admin:cronjobs_job_change", args=["test.flaky"])).content.decode(),
        admin_client.get(reverse("admin:cronjobs_run_change", args=[Run.objects.first().pk])).content.decode(),
    ]
    for page in pages:
        # The day and the time each in a span that does not wrap: a narrow column breaks between them.
        parts = re.findall(
            r'class="cronjobs-when"><span style="white-space:nowrap">([^<]+)</span> '
            r'<span style="white-space:nowrap">([^<]+)</span>',
            page,
        )
        shown = [f"{day} {time}" for day, time in parts]
        assert shown, page
        assert all(re.fullmatch(DATE + r" CES?T", text) for text in shown), shown
        assert not re.search(r"\b(a\.m\.|p\.m\.)", page)


def test_job_names_on_the_runs_page_link_to_the_job(admin_client, ran):
    page = admin_client.get(RUN_LIST).content.decode()
    url = reverse("admin:cronjobs_job_change", args=["test.flaky"])
    assert f'<a class="cronjobs-job" href="{url}">test.flaky</a>' in page


class ImportFeed(EveryMinute):
    code = "app.Import_2Feed"  # "_2F" is how the admin quotes "/" in a URL


def test_a_job_code_the_admin_would_read_as_quoted_links_to_its_own_page(admin_client, tmp_path):
    Runner({ImportFeed.code: ImportFeed}, now=datetime.now(timezone.utc), force=True).run()
    page = admin_client.get(RUN_LIST).content.decode()
    (href,) = re.findall(r'<a class="cronjobs-job" href="([^"]+)">app.Import_2Feed</a>', page)
    assert href == "/admin/cronjobs/job/app.Import_5F2Feed/change/"
    response = admin_client.get(href)
    assert response.status_code == 200 and response.context["original"].code == "app.Import_2Feed"


def test_a_next_run_long_past_is_flagged_as_cron_not_running(admin_client, ran):
    assert "is cron running?" not in admin_client.get(JOB_LIST).content.decode()
    Job.objects.filter(code="test.hourly").update(next_slot=datetime.now(timezone.utc) - timedelta(minutes=10))
    page = admin_client.get(JOB_LIST).content.decode()
    assert page.count("overdue: is cron running?") == 1


def test_the_task_list_shows_each_failed_tasks_last_error(admin_client):
    tasks.always_fails.enqueue("doomed")
    Worker(queues=["default"]).drain()
    page = admin_client.get(reverse("admin:cronjobs_tasks_queuedtask_changelist")).content.decode()
    assert re.search(r'<span class="cronjobs-task-error" title="[^"]*">RuntimeError: boom: doomed</span>', page)
