"""Schedules stored in the database: validated as the checks validate a class, run by the same
engine at the next runcrons, each change recorded as an Action, refused without permission."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from cronjobs import registry
from cronjobs.checks.jobs import check_job
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Action, Job, Run, StoredSchedule
from cronjobs.ops import actions
from cronjobs.stored import StoredCommandJob, StoredTaskJob
from cronjobs.tasks.models import QueuedTask
from cronjobs.testing import frozen_clock
from tests.testapp.models import Effect

AT = datetime(2026, 12, 2, 10, 17, tzinfo=timezone.utc)
ADD = reverse("admin:cronjobs_storedschedule_add")


@pytest.fixture(autouse=True)
def only_stored(tmp_path):
    cronjobs = {**settings.CRONJOBS, "AUTODISCOVER": False, "JOBS": [], "LOCK_DIR": str(tmp_path / "locks")}
    with override_settings(CRONJOBS=cronjobs):
        yield


def row(**fields) -> StoredSchedule:
    values = {"name": "report", "task": "tests.testapp.tasks.record", "args": ["stored"], "schedule": "* * * * *"}
    return StoredSchedule(**{**values, **fields})


def refused(schedule: StoredSchedule) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        schedule.full_clean()
    return caught.value.message_dict


# ----- validated with the checks' rules and messages


class BadExpression(BaseCronJob):
    schedule = "61 * * * *"


@pytest.mark.django_db
def test_a_bad_expression_is_refused_with_the_checks_message():
    (check,) = check_job(BadExpression)
    said = check.msg.split(": ", 1)[1]
    assert refused(row(schedule="61 * * * *")) == {
        "schedule": [f"{said[:1].upper()}{said[1:]} {check.hint} (cronjobs.E001)"]
    }


@pytest.mark.django_db
def test_the_other_schedule_mistakes_are_the_checks_errors_on_their_fields():
    assert refused(row(schedule="", interval=None))["__all__"][0].endswith("(cronjobs.E002)")
    assert refused(row(schedule="* * * * *", interval=timedelta(minutes=5)))["__all__"][0].startswith(
        "Has both schedule and interval."
    )
    (zone,) = refused(row(timezone="Europe/Berln"))["timezone"]
    assert zone.startswith("Unknown time zone 'Europe/Berln'.") and "Did you mean 'Europe/Berlin'?" in zone
    assert zone.endswith("(cronjobs.E004)")


@pytest.mark.django_db
def test_an_unknown_task_or_command_is_refused():
    assert refused(row(task="tests.testapp.tasks.nope"))["task"] == [
        "Task 'tests.testapp.tasks.nope' cannot be imported: "
        'Module "tests.testapp.tasks" does not define a "nope" attribute/class.'
    ]
    assert refused(row(task="tests.testapp.models.Effect"))["task"] == [
        "'tests.testapp.models.Effect' is not a Django Tasks task (a function under @task)."
    ]
    (command,) = refused(row(task="", command="clearsesions", args=[]))["command"]
    assert command.startswith("Unknown management command 'clearsesions'. Did you mean 'clearsessions'?")
    assert command.endswith("(cronjobs.E014)")
    assert refused(row(task="", command=""))["__all__"] == ["Set a task (its dotted path) or a management command."]
    assert refused(row(command="clearsessions"))["__all__"] == ["Set a task or a command, not both."]


@pytest.mark.django_db
def test_arguments_that_are_not_a_list_and_an_object_or_do_not_fit_the_task_are_refused():
    assert refused(row(args={"label": "x"})) == {"args": ['Arguments must be a JSON list, not {"label": "x"}.']}
    assert refused(row(args=[], kwargs=["x"])) == {"kwargs": ['Keyword arguments must be a JSON object, not ["x"].']}
    (fit,) = refused(row(args=["a", "b"]))["args"]
    assert fit.startswith("The arguments do not fit task 'tests.testapp.tasks.record': too many positional")
    row(args=[], kwargs={"label": "x"}).full_clean()  # as keywords: fine


@pytest.mark.django_db
def test_a_name_whose_code_a_job_in_code_has_is_refused():
    with override_settings(CRONJOBS={**settings.CRONJOBS, "AUTODISCOVER": False, "JOBS": [f"{__name__}.InCode"]}):
        assert refused(row(name="taken"))["name"] == ["A job in code has the code 'db.taken'; choose another name."]


class InCode(BaseCronJob):
    schedule = "@daily"
    code = "db.taken"


# ----- the same engine, at the next runcrons


@pytest.mark.django_db
def test_each_row_is_a_job_class_and_a_change_is_seen_after_a_refresh():
    row().save()
    StoredSchedule(name="sessions", command="clearsessions", interval=timedelta(hours=1)).save()
    jobs = registry.get_jobs()
    task, command = jobs["db.report"], jobs["db.sessions"]
    assert issubclass(task, StoredTaskJob) and task.arguments == ("stored",) and task.task_backend == "default"
    assert issubclass(command, StoredCommandJob) and command.command == "clearsessions"
    assert command.interval == timedelta(hours=1) and task.schedule == "* * * * *"
    registry.refresh()
    assert registry.get_jobs()["db.report"] is task  # unchanged: the same class
    StoredSchedule.objects.filter(name="report").update(schedule="@hourly")  # not through save(): no signal
    assert registry.get_jobs()["db.report"] is task
    registry.refresh()
    assert registry.get_jobs()["db.report"].schedule == "@hourly"


@pytest.mark.django_db(transaction=True)
def test_a_task_row_is_enqueued_with_its_arguments_once_per_slot_and_followed_to_its_result():
    row(args=[], kwargs={"label": "stored"}).save()
    with frozen_clock(AT) as clock:
        call_command("runcrons", "-v0")  # first seen
        clock.tick()
        call_command("runcrons", "-v0")  # enqueues, drains, follows
        call_command("runcrons", "-v0")
    assert list(QueuedTask.objects.values_list("task_path", "args", "kwargs")) == [
        ("tests.testapp.tasks.record", [], {"label": "stored"})
    ]
    run = Run.objects.get()
    assert (run.job_id, run.slot, run.status) == ("db.report", AT + timedelta(minutes=1), "succeeded")
    assert Effect.objects.filter(job="stored").count() == 1


@pytest.mark.django_db(transaction=True)
def test_added_changed_disabled_enabled_and_deleted_rows_take_effect_at_the_next_runcrons():
    with frozen_clock(AT) as clock:
        call_command("runcrons", "-v0")
        schedule = StoredSchedule(
            name="sessions", command="clearsessions", kwargs={"verbosity": 0}, schedule="*/2 * * * *"
        )
        schedule.full_clean()
        schedule.save()  # added: first seen at the next runcrons, from then on
        call_command("runcrons", "-v0")
        assert Job.objects.get(code="db.sessions").next_slot == AT.replace(minute=18)
        clock.tick()  # 10:18
        call_command("runcrons", "-v0")
        assert Run.objects.filter(job_id="db.sessions", status="succeeded").count() == 1

        schedule.schedule = "0 * * * *"  # changed: the job's schedule moves as a code change does
        schedule.full_clean()
        schedule.save()
        call_command("runcrons", "-v0")
        assert Job.objects.get(code="db.sessions").next_slot == AT.replace(hour=11, minute=0)

        schedule.enabled = False  # disabled is paused
        schedule.save()
        assert Job.objects.get(code="db.sessions").paused
        clock.tick(timedelta(hours=1))  # 11:18: the 11:00 slot passed while disabled
        call_command("runcrons", "-v0")
        assert Run.objects.filter(job_id="db.sessions").count() == 1
        schedule.enabled = True  # enabled again: from now on, the slots in between skipped
        schedule.save()
        call_command("runcrons", "-v0")
        state = Job.objects.get(code="db.sessions")
        assert not state.paused and state.next_slot == AT.replace(hour=12, minute=0)
        assert Run.objects.filter(job_id="db.sessions").count() == 1

        schedule.delete()  # deleted: not a job any more; its history is kept
        assert "db.sessions" not in registry.get_jobs()
        clock.tick(timedelta(hours=1))
        call_command("runcrons", "-v0")
        assert Run.objects.filter(job_id="db.sessions").count() == 1


@pytest.mark.django_db
def test_each_pass_of_loop_reads_the_stored_schedules_again():
    from cronjobs.management.commands.runcrons import Command

    command = Command()
    assert "db.report" not in command._reload([])
    StoredSchedule.objects.bulk_create([row()])  # no signal: only a new read sees it
    assert "db.report" in command._reload([])
    assert command._reload(["testapp.other"]) == {}


# ----- pausing the job is disabling the row


@pytest.mark.django_db
def test_pausing_and_resuming_its_job_disables_and_enables_the_row():
    row().save()
    job = registry.get_jobs()["db.report"]
    actions.pause(job, "ops", AT)
    assert not StoredSchedule.objects.get().enabled
    actions.resume(job, "ops", AT)
    assert StoredSchedule.objects.get().enabled


# ----- the admin: Actions and permissions


@pytest.fixture
def admin_client(db):
    User.objects.create_superuser("alice", "alice@example.com", "pw")
    client = Client()
    client.login(username="alice", password="pw")
    return client


FORM = {
    "name": "report",
    "description": "",
    "enabled": "on",
    "task": "tests.testapp.tasks.record",
    "command": "",
    "args": '["stored"]',
    "kwargs": "{}",
    "schedule": "*/5 * * * *",
    "interval": "",
    "timezone": "",
}


def test_the_admin_records_each_change_as_an_action(admin_client):
    assert admin_client.post(ADD, FORM).status_code == 302
    schedule = StoredSchedule.objects.get()
    change = reverse("admin:cronjobs_storedschedule_change", args=[schedule.pk])
    assert admin_client.post(change, {**FORM, "schedule": "0 * * * *"}).status_code == 302
    assert admin_client.post(change, {**FORM, "schedule": "0 * * * *", "enabled": ""}).status_code == 302
    changelist = reverse("admin:cronjobs_storedschedule_changelist")
    admin_client.post(changelist, {"action": "enable", "_selected_action": [schedule.pk]})
    delete = reverse("admin:cronjobs_storedschedule_delete", args=[schedule.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    recorded = list(Action.objects.order_by("id").values_list("job_code", "kind", "actor", "detail"))
    assert recorded == [
        (
            "db.report",
            "add",
            "alice (admin)",
            "task tests.testapp.tasks.record args=['stored'] kwargs={}, schedule '*/5 * * * *'",
        ),
        ("db.report", "change", "alice (admin)", "schedule: '*/5 * * * *' -> '0 * * * *'"),
        ("db.report", "pause", "alice (admin)", "disabled"),
        ("db.report", "resume", "alice (admin)", recorded[3][3]),
        (
            "db.report",
            "delete",
            "alice (admin)",
            "task tests.testapp.tasks.record args=['stored'] kwargs={}, schedule '0 * * * *'",
        ),
    ]
    assert recorded[3][3].startswith("enabled; slots up to ")
    assert not StoredSchedule.objects.exists()


def test_the_admin_refuses_a_bad_expression_with_the_checks_message(admin_client):
    response = admin_client.post(ADD, {**FORM, "schedule": "61 * * * *"})
    assert response.status_code == 200
    assert "(cronjobs.E001)" in response.content.decode() and "Bad schedule:" in response.content.decode()
    assert not StoredSchedule.objects.exists() and not Action.objects.exists()


def test_a_user_without_the_change_permission_cannot_change_a_schedule(db):
    row().save()
    schedule = StoredSchedule.objects.get()
    viewer = User.objects.create_user("bob", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_storedschedule"))
    client = Client()
    client.login(username="bob", password="pw")
    change = reverse("admin:cronjobs_storedschedule_change", args=[schedule.pk])
    client.post(change, {**FORM, "schedule": "0 * * * *"})
    changelist = reverse("admin:cronjobs_storedschedule_changelist")
    client.post(changelist, {"action": "disable", "_selected_action": [schedule.pk]})
    client.post(reverse("admin:cronjobs_storedschedule_delete", args=[schedule.pk]), {"post": "yes"})
    client.post(ADD, {**FORM, "name": "other"})
    schedule.refresh_from_db()
    assert (schedule.schedule, schedule.enabled) == ("* * * * *", True)
    assert StoredSchedule.objects.count() == 1 and not Action.objects.exists()


@pytest.mark.django_db
def test_list_health_and_simulate_show_a_stored_schedule_as_any_job(django_db_blocker):
    from io import StringIO

    row(schedule="0 3 * * *").save()
    out = StringIO()
    call_command("cronjobs", "list", stdout=out)
    assert "db.report" in out.getvalue()
    call_command("runcrons", "-v0")  # first seen (health calls a job runcrons never saw unhealthy, as any job)
    call_command("cronjobs", "health", stdout=StringIO())  # not late: exits 0
    out = StringIO()
    with django_db_blocker.unblock():  # simulate runs on a database of its own, as in test_simulate.py
        call_command("cronjobs", "simulate", "db.report", "--from", "2026-12-02", "--to", "2026-12-03", stdout=out)
    assert "db.report" in out.getvalue() and "03:00" in out.getvalue()
