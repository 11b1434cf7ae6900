"""Who may use each admin action: every action of the jobs and tasks admins, tried by a
view-only staff member, a user who is not staff, a request without a CSRF token, and a GET.

Each case sets up a state the action would change, attempts it, and checks that nothing
changed; the superuser case shows the same request does change it (so the test can fail).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from cronjobs.models import Job
from cronjobs.ops import actions, overview
from cronjobs.tasks.models import QueuedTask
from cronjobs.tasks.worker import Worker
from tests.testapp import tasks
from tests.testapp.jobs import Hourly

pytestmark = pytest.mark.django_db
JOB_LIST = reverse("admin:cronjobs_job_changelist")
TASK_LIST = reverse("admin:cronjobs_tasks_queuedtask_changelist")
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def jobs(tmp_path):
    settings = {"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.Hourly"], "LOCK_DIR": str(tmp_path / "locks")}
    with override_settings(CRONJOBS=settings):
        yield


@dataclass
class Case:
    url: str
    action: str
    setup: Callable[[], tuple[list[str], Callable[[], bool]]]
    """Makes the state; returns the selected pks and a probe: True while the state is unchanged."""
    extra: dict[str, str] | None = None


def _job_row() -> None:
    Job.objects.ensure({"test.hourly": Hourly}, NOW)


def _run_now():
    _job_row()
    return ["test.hourly"], lambda: Job.objects.get(code="test.hourly").run_requested is None


def _pause():
    _job_row()
    return ["test.hourly"], lambda: not Job.objects.get(code="test.hourly").paused


def _resume():
    _job_row()
    actions.pause(Hourly, "setup", NOW)
    return ["test.hourly"], lambda: Job.objects.get(code="test.hourly").paused


_held: list = []


def _unlock():
    _job_row()
    lock = overview.get_lock(Hourly)
    assert lock.acquire()
    _held.append(lock)
    return ["test.hourly"], lambda: overview.lock_holder(Hourly) is not None


def _forget():
    _job_row()
    Job.objects.create(code="gone.job", first_seen=NOW, watermark=NOW, schedule_key="x", next_slot=NOW)
    return ["gone.job"], lambda: Job.objects.filter(code="gone.job").exists()


def _failed_task() -> QueuedTask:
    tasks.always_fails.enqueue("doomed")
    Worker(queues=["default"]).drain()
    return QueuedTask.objects.get(status="FAILED")


def _retry_now():
    task = _failed_task()
    return [str(task.pk)], lambda: QueuedTask.objects.get(pk=task.pk).status == "FAILED"


def _delete_task():
    task = _failed_task()
    return [str(task.pk)], lambda: QueuedTask.objects.filter(pk=task.pk).exists()


CASES = {
    "jobs: run now": Case(JOB_LIST, "run_now", _run_now),
    "jobs: pause": Case(JOB_LIST, "pause", _pause),
    "jobs: resume": Case(JOB_LIST, "resume", _resume),
    "jobs: unlock": Case(JOB_LIST, "unlock", _unlock, {"confirmed": "yes"}),
    "jobs: forget": Case(JOB_LIST, "forget", _forget),
    "tasks: retry now": Case(TASK_LIST, "retry_now", _retry_now),
    "tasks: delete": Case(TASK_LIST, "delete_selected", _delete_task, {"post": "yes"}),
}


@pytest.fixture(autouse=True)
def release_locks():
    yield
    while _held:
        _held.pop().release()


def view_only_staff() -> User:
    user = User.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return user


def not_staff() -> User:
    user = User.objects.create_user("outsider", password="pw", is_staff=False)
    user.user_permissions.set(Permission.objects.all())
    return user


def superuser() -> User:
    return User.objects.create_superuser("root", password="pw")


def attempt(client: Client, case: Case, selected: list[str], method: str = "post"):
    data = {"action": case.action, "_selected_action": selected, **(case.extra or {})}
    return getattr(client, method)(case.url, data)


@pytest.mark.parametrize("name", CASES)
def test_a_superuser_can_use_every_action(name):
    case = CASES[name]
    selected, unchanged = case.setup()
    client = Client()
    client.force_login(superuser())
    attempt(client, case, selected)
    assert not unchanged()


@pytest.mark.parametrize("name", CASES)
def test_staff_who_may_only_view_cannot_use_any_action(name):
    case = CASES[name]
    selected, unchanged = case.setup()
    client = Client()
    client.force_login(view_only_staff())
    assert client.get(case.url).status_code == 200
    response = attempt(client, case, selected)
    assert response.status_code in (200, 302, 403)
    assert unchanged()


@pytest.mark.parametrize("name", CASES)
def test_a_user_who_is_not_staff_cannot_use_any_action_even_with_every_permission(name):
    case = CASES[name]
    selected, unchanged = case.setup()
    client = Client()
    client.force_login(not_staff())
    response = attempt(client, case, selected)
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert unchanged()


@pytest.mark.parametrize("name", CASES)
def test_a_post_without_a_csrf_token_is_refused(name):
    case = CASES[name]
    selected, unchanged = case.setup()
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser())
    response = attempt(client, case, selected)
    assert response.status_code == 403
    assert unchanged()


@pytest.mark.parametrize("name", CASES)
def test_a_get_with_the_action_in_the_query_does_nothing(name):
    case = CASES[name]
    selected, unchanged = case.setup()
    client = Client()
    client.force_login(superuser())
    response = attempt(client, case, selected, method="get")
    assert response.status_code in (200, 302)
    assert unchanged()


def test_forget_leaves_jobs_still_in_code_alone(admin_client):
    selected, _ = _forget()
    response = admin_client.post(
        JOB_LIST, {"action": "forget", "_selected_action": [*selected, "test.hourly"]}, follow=True
    )
    page = response.content.decode()
    assert "Still in code, left alone: test.hourly." in page and "Forgotten: gone.job." in page
    assert list(Job.objects.values_list("code", flat=True)) == ["test.hourly"]


def test_runs_and_jobs_have_no_delete_button_or_bulk_delete(admin_client):
    _job_row()
    for url in (JOB_LIST, reverse("admin:cronjobs_run_changelist"), reverse("admin:cronjobs_action_changelist")):
        assert 'value="delete_selected"' not in admin_client.get(url).content.decode()
    assert admin_client.get(reverse("admin:cronjobs_job_delete", args=["test.hourly"])).status_code == 403


@pytest.mark.parametrize(
    ("codenames", "forgotten"), [(["view_job", "change_job"], False), (["view_job", "delete_job"], True)]
)
def test_forget_needs_the_delete_permission_and_change_is_not_enough(codenames, forgotten):
    selected, unchanged = _forget()
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    attempt(client, CASES["jobs: forget"], selected)
    assert unchanged() is not forgotten
