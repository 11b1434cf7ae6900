"""django-celery-beat's periodic tasks (2.9, made as its README makes them) imported into stored
schedules by ``manage.py cronjobs import-celery-beat``: the rows, the report, the exit status,
``--dry-run``, and a second run that changes nothing."""

from __future__ import annotations

import io
import json
import zoneinfo
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from cronjobs import registry
from cronjobs.models import Action, StoredSchedule
from cronjobs.peers import celerybeat

TASK = "tests.testapp.beat_tasks.import_contacts"

pytestmark = pytest.mark.django_db


def _import(*options: str) -> tuple[str, int]:
    """The command's output and its exit status."""
    out = io.StringIO()
    try:
        call_command("cronjobs", "import-celery-beat", *options, stdout=out, no_color=True)
    except CommandError as exc:
        return out.getvalue() + f"CommandError: {exc}", exc.returncode
    return out.getvalue(), 0


def _readme() -> None:
    """django-celery-beat's README: every 10 seconds, every 15 minutes, with arguments, at sunset."""
    every_ten, _ = IntervalSchedule.objects.get_or_create(every=10, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(interval=every_ten, name="Importing contacts", task=TASK)
    PeriodicTask.objects.create(
        interval=every_ten,
        name="Importing contacts carefully",
        task=TASK,
        args=json.dumps(["arg1", "arg2"]),
        kwargs=json.dumps({"be_careful": True}),
    )
    quarter, _ = CrontabSchedule.objects.get_or_create(
        minute="*/15",
        hour="*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=zoneinfo.ZoneInfo("Canada/Pacific"),
    )
    PeriodicTask.objects.create(crontab=quarter, name="Every quarter of an hour", task=TASK)
    sunset, _ = SolarSchedule.objects.get_or_create(event="sunset", latitude=-37.81753, longitude=144.96715)
    PeriodicTask.objects.create(solar=sunset, name="At sunset", task=TASK)


def _rows() -> list[tuple]:
    return list(
        StoredSchedule.objects.order_by("name").values_list(
            "name", "task", "args", "kwargs", "schedule", "interval", "timezone", "enabled"
        )
    )


README_ROWS = [
    ("every-quarter-of-an-hour", TASK, [], {}, "*/15 * * * *", None, "Canada/Pacific", True),
    ("importing-contacts", TASK, [], {}, "", timedelta(seconds=10), "", True),
    ("importing-contacts-carefully", TASK, ["arg1", "arg2"], {"be_careful": True}, "", timedelta(seconds=10), "", True),
]


def test_the_readme_s_periodic_tasks_become_stored_schedules_and_the_solar_one_is_reported():
    _readme()
    out, status = _import()
    assert status == 1
    assert _rows() == README_ROWS
    lines = out.splitlines()
    assert "+ 'Importing contacts' -> db.importing-contacts: created: task " + TASK + "(), every 0:00:10" in lines
    assert (
        "+ 'Every quarter of an hour' -> db.every-quarter-of-an-hour: created: task "
        f"{TASK}(), at */15 * * * * (Canada/Pacific)"
    ) in lines
    (sunset,) = [line for line in lines if line.startswith("! 'At sunset'")]
    assert "not imported: its solar schedule, Sunset (-37.817530, 144.967150), has no equivalent" in sunset
    assert "4 periodic tasks: 3 created, 1 not imported." in lines
    # Each row is a job of the engine, and its addition an Action by the import.
    jobs = registry.get_jobs()
    assert jobs["db.importing-contacts-carefully"].arguments == ("arg1", "arg2")
    assert jobs["db.importing-contacts-carefully"].keywords == {"be_careful": True}
    assert sorted(Action.objects.values_list("job_code", "kind", "actor")) == [
        ("db.every-quarter-of-an-hour", "add", "import-celery-beat"),
        ("db.importing-contacts", "add", "import-celery-beat"),
        ("db.importing-contacts-carefully", "add", "import-celery-beat"),
    ]


def test_dry_run_writes_nothing_and_says_what_would_be_done():
    _readme()
    out, status = _import("--dry-run")
    assert status == 1
    assert StoredSchedule.objects.count() == 0
    assert Action.objects.count() == 0
    assert "+ 'Importing contacts' -> db.importing-contacts: would be created: " in out
    assert "4 periodic tasks: 3 would be created, 1 not imported. Dry run: nothing written." in out


def test_a_second_run_changes_nothing_and_a_change_in_beat_is_carried_over():
    _readme()
    _import()
    before = (_rows(), list(Action.objects.values_list("id", flat=True)))
    out, status = _import()
    assert status == 1  # the solar schedule, still
    assert (_rows(), list(Action.objects.values_list("id", flat=True))) == before
    assert "4 periodic tasks: 3 unchanged, 1 not imported." in out

    PeriodicTask.objects.filter(name="Importing contacts").update(enabled=False, kwargs='{"be_careful": false}')
    out, _status = _import()
    assert "~ 'Importing contacts' -> db.importing-contacts: changed: " in out
    row = StoredSchedule.objects.get(name="importing-contacts")
    assert (row.enabled, row.kwargs) == (False, {"be_careful": False})
    assert list(
        Action.objects.filter(job_code="db.importing-contacts").order_by("id").values_list("kind", "actor", "detail")
    ) == [
        ("add", "import-celery-beat", Action.objects.get(job_code=row.code, kind="add").detail),
        ("change", "import-celery-beat", "kwargs: {} -> {'be_careful': False}"),
        ("pause", "import-celery-beat", "disabled"),
    ]


def test_a_row_changed_by_a_person_since_the_import_is_left_as_it_is_and_reported():
    _readme()
    _import()
    from cronjobs.ops import actions

    row = StoredSchedule.objects.get(name="importing-contacts")
    was = actions.schedule_state(row)
    row.interval = timedelta(minutes=1)
    actions.save_schedule(row, was, "alice", timezone.now())
    PeriodicTask.objects.filter(name="Importing contacts").update(args='["again"]')
    out, status = _import()
    assert status == 1
    assert StoredSchedule.objects.get(name="importing-contacts").args == []
    assert "! 'Importing contacts' -> db.importing-contacts: not imported: db.importing-contacts exists" in out


def test_with_everything_mapped_the_exit_status_is_0():
    every_minute, _ = CrontabSchedule.objects.get_or_create(minute="0", hour="4", day_of_week="mon-fri")
    PeriodicTask.objects.create(crontab=every_minute, name="weekday mornings", task=TASK)
    out, status = _import()
    assert status == 0, out
    assert StoredSchedule.objects.get(name="weekday-mornings").schedule == "0 4 * * 1-5"
    assert StoredSchedule.objects.get(name="weekday-mornings").timezone == "UTC"
    assert "1 periodic tasks: 1 created." in out


def test_what_cannot_be_mapped_is_reported_one_by_one_and_the_rest_imported():
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    clock, _ = ClockedSchedule.objects.get_or_create(clocked_time=timezone.now() + timedelta(days=1))
    both_days, _ = CrontabSchedule.objects.get_or_create(minute="0", hour="0", day_of_month="1-7", day_of_week="1")
    create = PeriodicTask.objects.create
    create(interval=every_hour, name="celery only", task="proj.tasks.import_contacts")
    create(interval=every_hour, name="plain function", task="tests.testapp.beat_tasks.not_a_task")
    create(clocked=clock, one_off=True, name="once", task=TASK)
    create(crontab=both_days, name="first monday", task=TASK)
    create(interval=every_hour, name="one off", task=TASK, one_off=True)
    create(interval=every_hour, name="expiring", task=TASK, expires=timezone.now() + timedelta(days=1))
    create(interval=every_hour, name="later", task=TASK, start_time=timezone.now() + timedelta(days=1))
    create(interval=every_hour, name="started", task=TASK, start_time=timezone.now() - timedelta(days=1))
    create(interval=every_hour, name="bad args", task=TASK, kwargs='{"unknown": 1}')
    create(interval=every_hour, name="not json", task=TASK, args="[1,")
    create(interval=every_hour, name="routed", task=TASK, queue="celery", priority=5, expire_seconds=30)
    out, status = _import()
    assert status == 1
    said = {line.split("'")[1]: line for line in out.splitlines() if line.startswith(("!", "+"))}
    assert "a Celery task name, and no Django Tasks task has that path: port the function" in said["celery only"]
    assert "is not a Django Tasks task" in said["plain function"]
    assert "its clocked schedule" in said["once"]
    assert "restricts both the day of month and the day of week" in said["first monday"]
    assert "it is one-off" in said["one off"]
    assert "it expires at" in said["expiring"]
    assert "it starts at" in said["later"]
    assert said["bad args"].startswith("! 'bad args': not imported: it cannot be a stored schedule: The arguments")
    assert "its args are not JSON" in said["not json"]
    assert said["started"].startswith("+ 'started' -> db.started: created")
    assert said["routed"].startswith("+ 'routed' -> db.routed: created")
    assert "    left behind: queue 'celery' (the task is enqueued on its own queue, 'default'" in out
    assert "    left behind: priority 5" in out
    assert "    left behind: expire_seconds 30" in out
    assert sorted(StoredSchedule.objects.values_list("name", flat=True)) == ["routed", "started"]
    assert "11 periodic tasks: 2 created, 9 not imported, 1 with options left behind." in out


def test_celery_s_crontab_fields_are_written_as_cron_reads_them():
    assert celerybeat.cron_expression("*/15", "*", "*", "*", "*") == "*/15 * * * *"
    assert celerybeat.cron_expression("0", "8,20", "sun", "*", "*") == "0 8,20 * * 0"
    assert celerybeat.cron_expression("30", "*/3", "fri-mon", "*", "*/3") == "30 */3 * */3 0,1,5,6"
    assert celerybeat.cron_expression("0-4,6", "0", "*", "10-15", "1,2") == "0-4,6 0 10-15 1,2 *"
    with pytest.raises(celerybeat.Unmappable, match="Celery cannot read its crontab"):
        celerybeat.cron_expression("0", "0", "7", "*", "*")  # Celery's own parser refuses 7


def test_names_are_slugs_and_alike_ones_are_told_apart_by_a_digest():
    names = celerybeat.names(["Importing contacts", "importing contacts", "celery.backend_cleanup"])
    assert names["celery.backend_cleanup"] == "celerybackend_cleanup"
    assert names["Importing contacts"].startswith("importing-contacts-")
    assert names["importing contacts"].startswith("importing-contacts-")
    assert names["Importing contacts"] != names["importing contacts"]
    assert celerybeat.names(["Importing contacts", "importing contacts"]) == {
        k: names[k] for k in ("Importing contacts", "importing contacts")
    }


def test_bad_usage_is_exit_2():
    assert _import("--database", "elsewhere")[1] == 2
    apps = [app for app in __import__("django.conf").conf.settings.INSTALLED_APPS if app != "django_celery_beat"]
    with override_settings(INSTALLED_APPS=apps):
        out, status = _import()
    assert status == 2
    assert "django_celery_beat is not in INSTALLED_APPS" in out
