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
    assert (
        '<span class="cronjobs-schedule">At the start of every hour</span><br><small class="cronjobs-zone">UTC</small>'
        in page
    )
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


def job_page(client, code: str):
    return client.get(reverse("admin:cronjobs_job_change", args=[code]))


def press(client, code: str, button: str, **extra):
    return client.post(reverse("admin:cronjobs_job_act", args=[code, button]), extra, follow=True)


def buttons(page) -> list[str]:
    return re.findall(r'<input type="submit" class="cronjobs-button-(\w+)"', page.content.decode())


def test_the_job_page_has_run_now_pause_and_resume_buttons_that_act_as_the_list_does(admin_client):
    admin_client.get(JOB_LIST)
    assert buttons(job_page(admin_client, "test.hourly")) == ["run_now", "pause"]
    paused = press(admin_client, "test.hourly", "pause")
    assert paused.redirect_chain == [(reverse("admin:cronjobs_job_change", args=["test.hourly"]), 302)]
    assert [(m.level_tag, str(m)) for m in paused.context["messages"]] == [("success", "Paused: test.hourly.")]
    assert Job.objects.get(code="test.hourly").paused
    assert buttons(paused) == ["run_now", "resume"]
    press(admin_client, "test.hourly", "resume")
    press(admin_client, "test.hourly", "run_now")
    row = Job.objects.get(code="test.hourly")
    assert not row.paused and row.run_requested is not None
    assert list(Action.objects.order_by("id").values_list("kind", flat=True)) == ["pause", "resume", "run_now"]


def test_the_unlock_button_shows_while_a_lock_is_held_and_asks_first(admin_client):
    admin_client.get(JOB_LIST)
    lock = overview.get_lock(Hourly)
    assert lock.acquire()
    try:
        assert buttons(job_page(admin_client, "test.hourly")) == ["run_now", "pause", "unlock"]
        confirm = press(admin_client, "test.hourly", "unlock")
        assert "Break these locks?" in confirm.content.decode() and overview.lock_holder(Hourly) is not None
        done = press(admin_client, "test.hourly", "unlock", action="unlock", confirmed="yes", _selected_action="x")
        assert done.redirect_chain[-1][0] == reverse("admin:cronjobs_job_change", args=["test.hourly"])
        assert "lock broken (was held by" in done.content.decode()
        assert overview.lock_holder(Hourly) is None
    finally:
        lock.release()


def test_staff_who_may_only_view_get_no_buttons_and_cannot_press_them(client):
    client.force_login(staff("view_job", "view_run"))
    client.get(JOB_LIST)
    assert buttons(job_page(client, "test.hourly")) == []
    assert client.post(reverse("admin:cronjobs_job_act", args=["test.hourly", "pause"])).status_code == 403
    assert not Job.objects.get(code="test.hourly").paused


def test_a_button_is_pressed_with_post_only_and_unknown_buttons_do_not_exist(admin_client):
    admin_client.get(JOB_LIST)
    assert admin_client.get(reverse("admin:cronjobs_job_act", args=["test.hourly", "pause"])).status_code == 405
    assert admin_client.post(reverse("admin:cronjobs_job_act", args=["test.hourly", "forget"])).status_code == 404
    assert not Job.objects.get(code="test.hourly").paused


def test_unlocking_a_free_lock_or_pausing_a_paused_job_is_a_warning_not_a_success(admin_client):
    admin_client.get(JOB_LIST)
    free = act(admin_client, "unlock", "test.hourly")
    assert [(m.level_tag, str(m)) for m in free.context["messages"]] == [
        ("warning", "No lock held: nothing to unlock.")
    ]
    act(admin_client, "pause", "test.hourly")
    again = act(admin_client, "pause", "test.hourly")
    assert [(m.level_tag, str(m)) for m in again.context["messages"]] == [
        ("warning", "Nothing paused: already paused.")
    ]


def test_the_handed_off_task_section_shows_only_on_runs_that_handed_off(admin_client):
    Runner({"test.hourly": Hourly}, now=datetime.now(timezone.utc), force=True).run()
    ordinary = Run.objects.get()
    page = admin_client.get(reverse("admin:cronjobs_run_change", args=[ordinary.pk])).content.decode()
    assert "Handed-off task" not in page and "When and where" in page
    Run.objects.filter(pk=ordinary.pk).update(task_backend="default", task_id="abc-123")
    page = admin_client.get(reverse("admin:cronjobs_run_change", args=[ordinary.pk])).content.decode()
    assert "Handed-off task" in page and "abc-123" in page
