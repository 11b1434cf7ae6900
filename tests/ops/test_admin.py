"""The admin: the "Cron jobs" page, its actions and who may use them, read-only run records."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from django.contrib.auth.models import Permission, User
from django.test.utils import override_settings
from django.urls import reverse

from cronjobs.engine.runner import Runner
from cronjobs.models import Action, Job, Run
from cronjobs.ops import overview
from tests.testapp.jobs import EveryMinute, Flaky, Hourly

pytestmark = pytest.mark.django_db
JOBS = ["tests.testapp.jobs.EveryMinute", "tests.testapp.jobs.Flaky", "tests.testapp.jobs.Hourly"]
JOB_LIST = reverse("admin:cronjobs_job_changelist")
RUN_LIST = reverse("admin:cronjobs_run_changelist")


@pytest.fixture(autouse=True)
def jobs(tmp_path):
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": JOBS, "LOCK_DIR": str(tmp_path / "locks")}):
        yield


def staff(*codenames: str) -> User:
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def act(client, action: str, *codes: str, **extra):
    return client.post(JOB_LIST, {"action": action, "_selected_action": list(codes), **extra}, follow=True)


def test_the_job_list_shows_every_registered_job_even_before_any_run(admin_client):
    page = admin_client.get(JOB_LIST).content.decode()
    for code in ("test.every_minute", "test.flaky", "test.hourly"):
        assert f">{code}</a>" in page
    assert page.count("never ran") == 3
    assert "At the start of every hour (UTC)" in page
    assert set(Job.objects.values_list("code", flat=True)) == {"test.every_minute", "test.flaky", "test.hourly"}


def test_the_job_list_shows_the_last_status_in_colour(admin_client):
    now = datetime.now(timezone.utc)
    Runner({"test.flaky": Flaky, "test.every_minute": EveryMinute}, now=now, force=True).run()
    page = admin_client.get(JOB_LIST).content.decode()
    assert 'class="cronjobs-status cronjobs-status-failed" style="background:#ba2121' in page
    assert 'class="cronjobs-status cronjobs-status-succeeded" style="background:#417505' in page


def test_pause_resume_and_run_now_act_and_are_recorded(admin_client):
    admin_client.get(JOB_LIST)
    response = act(admin_client, "pause", "test.hourly")
    assert "Paused: test.hourly." in response.content.decode()
    assert Job.objects.get(code="test.hourly").paused
    act(admin_client, "resume", "test.hourly")
    assert not Job.objects.get(code="test.hourly").paused
    act(admin_client, "run_now", "test.hourly")
    assert Job.objects.get(code="test.hourly").run_requested is not None
    outcomes = Runner({"test.hourly": Hourly}, now=datetime.now(timezone.utc)).run()
    assert [o.status for o in outcomes] == ["succeeded"]
    assert list(Action.objects.order_by("id").values_list("kind", "actor")) == [
        ("pause", "admin (admin)"),
        ("resume", "admin (admin)"),
        ("run_now", "admin (admin)"),
    ]


def test_staff_who_may_only_view_see_the_jobs_but_cannot_act(client):
    client.force_login(staff("view_job", "view_run"))
    page = client.get(JOB_LIST)
    assert page.status_code == 200 and "test.hourly" in page.content.decode()
    assert 'name="action"' not in page.content.decode()
    act(client, "pause", "test.hourly")
    assert not Job.objects.get(code="test.hourly").paused
    assert client.get(reverse("admin:cronjobs_job_change", args=["test.hourly"])).status_code == 200


def test_staff_with_the_change_permission_can_pause(client):
    client.force_login(staff("view_job", "change_job"))
    client.get(JOB_LIST)
    act(client, "pause", "test.hourly")
    assert Job.objects.get(code="test.hourly").paused


def test_unlock_asks_for_confirmation_then_breaks_the_lock(admin_client):
    admin_client.get(JOB_LIST)
    lock = overview.get_lock(Hourly)
    assert lock.acquire()
    try:
        assert "held by" in admin_client.get(JOB_LIST).content.decode()
        confirm = act(admin_client, "unlock", "test.hourly")
        assert "Break these locks?" in confirm.content.decode()
        assert overview.lock_holder(Hourly) is not None
        done = act(admin_client, "unlock", "test.hourly", confirmed="yes")
        assert "lock broken (was held by" in done.content.decode()
        assert overview.lock_holder(Hourly) is None
        assert Action.objects.get().kind == "unlock"
    finally:
        lock.release()


def listed(client, **query) -> list[str]:
    page = client.get(RUN_LIST, query).content.decode()
    return re.findall(r'<td class="field-job_link"><a class="cronjobs-job" href="[^"]+">([^<]+)</a></td>', page)


def test_runs_are_read_only_filterable_and_show_the_traceback(admin_client):
    now = datetime.now(timezone.utc)
    Runner({"test.flaky": Flaky, "test.every_minute": EveryMinute}, now=now, force=True).run()
    failed = Run.objects.get(status="failed")
    assert listed(admin_client, status__exact="failed") == ["test.flaky"]
    assert listed(admin_client, job__code__exact="test.every_minute") == ["test.every_minute"]
    since = (now - timedelta(days=1)).isoformat()
    assert sorted(listed(admin_client, started_at__gte=since)) == ["test.every_minute", "test.flaky"]
    assert listed(admin_client, q="flaky is failing") == ["test.flaky"]
    detail = admin_client.get(reverse("admin:cronjobs_run_change", args=[failed.pk])).content.decode()
    assert '<pre class="cronjobs-traceback"' in detail and "RuntimeError: flaky is failing" in detail
    assert '<pre class="cronjobs-output"' in detail and "flaky ran" in detail
    assert 'name="_save"' not in detail
    assert admin_client.get(reverse("admin:cronjobs_run_add")).status_code == 403


def test_the_job_list_says_when_maintenance_mode_is_on(admin_client):
    from cronjobs.ops import maintenance

    assert "Maintenance mode" not in admin_client.get(JOB_LIST).content.decode()
    maintenance.turn_on([EveryMinute, Flaky, Hourly], "ops@example", datetime.now(timezone.utc))
    page = admin_client.get(JOB_LIST).content.decode()
    assert "Maintenance mode since" in page and "by ops@example" in page
