"""django-cron's classes (0.6, its own examples in tests/peers/cron_classes.py) listed in
``CRON_CLASSES`` run unchanged here: their slots over a day, and runcrons over a frozen clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.core import checks
from django.core.management import call_command
from django.test.utils import override_settings

from cronjobs import registry
from cronjobs.checks.base import error
from cronjobs.models import Run
from cronjobs.testing import frozen_clock
from tests.testapp.models import Effect

CLASSES = "tests.peers.cron_classes"
DAY = datetime(2026, 12, 5, tzinfo=timezone.utc)  # a Saturday
# registry.get_jobs() reads the stored schedules too: every test may use the database.
pytestmark = pytest.mark.django_db


def _classes(*names: str) -> override_settings:
    return override_settings(CRON_CLASSES=[f"{CLASSES}.{name}" for name in names])


def _slots(code: str, after: datetime = DAY, until: datetime = DAY + timedelta(days=1)) -> list[str]:
    schedule = registry.get_jobs()[code].get_schedule()
    return [slot.strftime("%a %H:%M") for slot in reversed(list(schedule.slots_back(after, until)))]


def test_every_n_minutes_that_divides_an_hour_is_a_cron_expression_and_any_other_an_interval():
    with _classes("EveryFive", "MyCronJob", "AttributesOnly"):
        jobs = registry.get_jobs()
        assert jobs["my_app.every_five"].schedule == "*/5 * * * *"
        assert jobs["my_app.my_cron_job"].interval == timedelta(hours=2)
        assert jobs["my_app.attributes_only"].schedule == "*/15 * * * *"
        assert _slots("my_app.my_cron_job") == [f"Sat {h:02d}:00" for h in range(2, 24, 2)] + ["Sun 00:00"]


def test_run_at_times_are_their_slots_each_day():
    with _classes("AtTimes", "EveryAndAt"):
        assert _slots("my_app.at_times") == ["Sat 11:30", "Sat 14:00", "Sat 23:15"]
        assert registry.get_jobs()["my_app.at_times"].schedule == "0 14 * * *; 15 23 * * *; 30 11 * * *"
        assert _slots("my_app.every_and_at", until=DAY + timedelta(hours=7)) == [
            "Sat 02:00",
            "Sat 04:00",
            "Sat 06:00",
            "Sat 06:30",
        ]


def test_run_on_days_is_the_day_of_week_field_counted_from_monday():
    with _classes("OnWeekends"):
        assert registry.get_jobs()["my_app.on_weekends"].schedule == "0 7 * * 0,6"
        assert _slots("my_app.on_weekends", until=DAY + timedelta(days=7)) == ["Sat 07:00", "Sun 07:00"]


def test_retry_after_failure_and_parallel_runs_map_to_retries_and_overlap():
    with _classes("RetryAfterFailure"):
        job = registry.get_jobs()["my_app.retry_after_failure"]
        assert (job.schedule, job.retry_delay, job.retries, job.overlap) == (
            "0 * * * *",
            timedelta(minutes=5),
            11,
            "allow",
        )


@pytest.mark.django_db(transaction=True)
def test_a_class_every_five_minutes_runs_do_at_each_fifth_minute_once():
    at = DAY.replace(hour=10, minute=3)
    with _classes("EveryFive"), frozen_clock(at) as clock:
        call_command("runcrons", "-v0")  # first seen: its schedule starts now
        for _minute in range(12):  # 10:04 ... 10:15
            clock.tick()
            call_command("runcrons", "-v0")
            call_command("runcrons", "-v0")  # a second runner in the same minute runs nothing
    runs = list(Run.objects.order_by("slot").values_list("job__code", "slot", "status", "message"))
    assert runs == [("my_app.every_five", at.replace(minute=m), "succeeded", "five minutes on") for m in (5, 10, 15)]
    assert Effect.objects.filter(job="my_app.every_five").count() == 3


def test_manage_py_check_says_what_was_read_and_what_min_num_failures_means_here():
    with _classes("EveryFive", "MyCronJob"):
        assert [m for m in checks.run_checks(tags=["cronjobs"]) if m.id == "cronjobs.I211"] == [
            checks.Info(
                "CRON_CLASSES (django-cron): 2 classes run as jobs here.",
                hint="my_app.every_five at '*/5 * * * *'; my_app.my_cron_job at every 2:00:00; "
                f"{CLASSES}.EveryFive: MIN_NUM_FAILURES 3 is not used. MIN_NUM_FAILURES: with "
                "CRONJOBS['MAIL_ADMINS'] the first failure of a streak mails.",
                id="cronjobs.I211",
            )
        ]


def test_a_class_that_cannot_be_mapped_is_an_error_and_the_others_run():
    hint = "Fix the class, or rewrite it as a job class (see docs: Coming from django-cron)."
    with _classes("NoCode", "BothDayKinds", "Missing", "EveryFive"):
        assert [m for m in checks.run_checks(tags=["cronjobs"]) if m.id == "cronjobs.E211"] == [
            error(
                f"CRON_CLASSES: {CLASSES}.NoCode: has no code (django-cron requires one: code = 'my_app.my_cron_job').",
                hint,
                211,
            ),
            error(
                f"CRON_CLASSES: {CLASSES}.BothDayKinds: run_on_days and run_monthly_on_days together mean both "
                "here in django-cron, either in cron: keep one, or write a job class with should_run().",
                hint,
                211,
            ),
            error(
                f"CRON_CLASSES: '{CLASSES}.Missing' cannot be imported: Module \"{CLASSES}\" does not define a "
                '"Missing" attribute/class.',
                hint,
                211,
            ),
        ]
        assert list(registry.get_jobs()) == ["my_app.every_five"]
