"""Every system check fires on the input it guards, with its id and a hint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import checks
from django.test import override_settings

from cronjobs import BaseCronJob, CommandJob

HERE = "tests.checks.test_jobs_and_settings"


def job(name: str, **attrs):
    attrs.setdefault("run", lambda self: None)
    attrs.setdefault("code", f"check.{name}")
    cls = type(name, (attrs.pop("base", BaseCronJob),), attrs)
    cls.__module__ = HERE
    globals()[name] = cls
    return f"{HERE}.{name}"


def errors_for(*paths: str, **extra) -> list[checks.CheckMessage]:
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": list(paths), **extra}):
        return [m for m in checks.run_checks(tags=["cronjobs"])]


def ids(messages) -> list[str]:
    return [m.id for m in messages]


def test_a_valid_job_passes():
    assert errors_for(job("Valid", schedule="*/5 * * * *")) == []
    assert errors_for(job("ValidInterval", interval=timedelta(minutes=5))) == []


@pytest.mark.parametrize(
    ("attrs", "expected_id", "text"),
    [
        ({"schedule": "61 * * * *"}, "cronjobs.E001", "bad schedule: '61 * * * *': Bad minute"),
        ({"schedule": "@reboot"}, "cronjobs.E001", "@reboot is not supported"),
        ({"schedule": "* * * *"}, "cronjobs.E001", "has 4 fields"),
        ({}, "cronjobs.E002", "has neither schedule nor interval"),
        ({"schedule": "* * * * *", "interval": timedelta(minutes=1)}, "cronjobs.E002", "has both"),
        ({"interval": timedelta(0)}, "cronjobs.E003", "interval must be positive"),
        ({"interval": 300}, "cronjobs.E003", "interval must be a timedelta"),
        (
            {"schedule": "0 3 * * *", "timezone": "Europe/Atlantis"},
            "cronjobs.E004",
            "unknown time zone 'Europe/Atlantis'",
        ),
        ({"schedule": "0 3 * * *", "lock": "flock"}, "cronjobs.E005", "unknown lock 'flock'"),
        ({"schedule": "0 3 * * *", "catchup": "everything"}, "cronjobs.E007", "catchup is 'everything'"),
        ({"schedule": "0 3 * * *", "overlap": "queue"}, "cronjobs.E008", "overlap is 'queue'"),
        ({"schedule": "0 3 * * *", "retries": -1}, "cronjobs.E009", "retries is -1"),
        ({"schedule": "0 3 * * *", "retry_delay": 60}, "cronjobs.E009", "retry_delay is 60"),
        ({"schedule": "0 3 * * *", "timeout": timedelta(0)}, "cronjobs.E009", "timeout is"),
        ({"schedule": "0 3 * * *", "atomic": "yes"}, "cronjobs.E009", "atomic is 'yes'"),
        ({"schedule": "0 3 * * *", "code": "has spaces in it"}, "cronjobs.E015", "code 'has spaces in it'"),
        ({"schedule": "@daily", "base": CommandJob}, "cronjobs.E014", "no command set"),
        (
            {"schedule": "@daily", "base": CommandJob, "command": "nosuchcommand"},
            "cronjobs.E014",
            "unknown management command",
        ),
    ],
)
def test_each_mistake_in_a_job_class_is_an_error_with_its_id(attrs, expected_id, text):
    messages = errors_for(job("Broken", **attrs))
    assert ids(messages) == [expected_id]
    assert text in messages[0].msg
    assert messages[0].hint
    assert messages[0].obj is globals()["Broken"]


def test_a_misspelt_time_zone_is_an_error_that_suggests_the_closest_zone():
    from cronjobs.checks.base import where

    messages = errors_for(job("Berln", schedule="0 3 * * *", timezone="Europe/Berln"))
    assert messages == [
        checks.Error(
            f"{where(globals()['Berln'])}: unknown time zone 'Europe/Berln'.",
            hint="Did you mean 'Europe/Berlin'? Use an IANA zone name such as 'Europe/Berlin' "
            "(see zoneinfo.available_timezones()).",
            obj=globals()["Berln"],
            id="cronjobs.E004",
        )
    ]


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("Europe/Berln", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("Berlin", "Europe/Berlin"),
        ("Mars/Base", None),
    ],
)
def test_the_closest_zone_is_found_by_spelling_case_or_city(name, suggested):
    from cronjobs.schedules import closest_zone

    assert closest_zone(name) == suggested


def test_duplicate_codes_are_an_error():
    first = job("First", schedule="@daily", code="same.code")
    second = job("Second", schedule="@hourly", code="same.code")
    messages = errors_for(first, second)
    assert messages == [
        checks.Error(
            "Job code 'same.code' is used by 2 classes: tests.checks.test_jobs_and_settings.First, tests.checks.test_jobs_and_settings.Second.",
            hint="Give each job a distinct `code`.",
            obj=globals()["Second"],
            id="cronjobs.E006",
        )
    ]


@pytest.mark.parametrize(
    ("setting", "expected_id", "text"),
    [
        ({"LOKC": "file"}, "cronjobs.E010", "unknown key 'LOKC'"),
        ({"LOCK": "zookeeper"}, "cronjobs.E005", "'zookeeper', not a known lock"),
        ({"MAX_CATCHUP": 0}, "cronjobs.E016", "MAX_CATCHUP"),
        ({"CATCHUP_GRACE": 5}, "cronjobs.E016", "CATCHUP_GRACE"),
        ({"JOBS": "myapp.Job"}, "cronjobs.E016", "must be a list"),
        ({"JOBS": ["tests.nowhere.Job"]}, "cronjobs.E011", "cannot be imported"),
        (
            {"JOBS": ["tests.checks.test_jobs_and_settings.errors_for"]},
            "cronjobs.E011",
            "is neither a BaseCronJob subclass nor a function or task under @cron(...)",
        ),
        ({"LOCK_DIR": __file__ + "/locks"}, "cronjobs.E012", "cannot be written: Not a directory"),
    ],
)
def test_each_mistake_in_the_setting_is_an_error_with_its_id(setting, expected_id, text):
    with override_settings(CRONJOBS={"AUTODISCOVER": False, **setting}):
        messages = checks.run_checks(tags=["cronjobs"])
    assert ids(messages) == [expected_id]
    assert text in messages[0].msg and messages[0].hint


def test_cronjobs_must_be_a_dict_or_django_crontab_s_list():
    with override_settings(CRONJOBS="file"):
        assert ids(checks.run_checks(tags=["cronjobs"])) == ["cronjobs.E010"]
    with override_settings(CRONJOBS=["file"]):  # a list is django-crontab's: its entry is no tuple
        assert ids(checks.run_checks(tags=["cronjobs"])) == ["cronjobs.E210"]


def test_use_tz_false_is_an_error():
    with override_settings(USE_TZ=False, CRONJOBS={"AUTODISCOVER": False}):
        assert ids(checks.run_checks(tags=["cronjobs"])) == ["cronjobs.E013"]


def test_an_abstract_base_class_is_not_a_job():
    base = job("AbstractBase", abstract=True)
    assert errors_for(base) == [
        checks.Error(
            "CRONJOBS['JOBS']: 'tests.checks.test_jobs_and_settings.AbstractBase' is abstract.",
            hint="Fix or remove the entry.",
            id="cronjobs.E011",
        )
    ]


@pytest.mark.parametrize("bound", [10**12, 10_001, True, 0])
def test_a_catchup_bound_that_would_plan_millions_of_slots_is_e016(bound):
    assert errors_for(MAX_CATCHUP=bound) == [
        checks.Error(
            f"CRONJOBS['MAX_CATCHUP'] must be a whole number from 1 to 10,000, not {bound!r}.",
            hint="The default is 100. Each missed slot up to this bound is planned and recorded (or run) "
            "one by one, per job, after an outage.",
            id="cronjobs.E016",
        )
    ]


def test_a_weekday_with_hash_warns_that_debian_cron_reads_it_as_every_such_weekday():
    from cronjobs.checks.base import where

    messages = errors_for(job("SecondFriday", schedule="0 3 * * 5#2", timezone="UTC"))
    assert messages == [
        checks.Warning(
            f"{where(globals()['SecondFriday'])}: schedule '0 3 * * 5#2' runs at 03:00 on the 2nd Friday of the "
            "month (UTC); '5#2' uses '#', which Debian's cron ignores: it runs on every such weekday.",
            hint="cronjobs reads the expression itself, so the job runs as said here (see `cronjobs list`). "
            "If you copied it from a crontab, check that this is what you want; then silence cronjobs.W023.",
            obj=globals()["SecondFriday"],
            id="cronjobs.W023",
        )
    ]


def test_a_catchup_bound_of_a_week_of_minutes_passes():
    assert errors_for(MAX_CATCHUP=10_000) == []


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        ("0 0 L * *", "'L' uses 'L', which Debian's cron rejects: it does not run such a line at all"),
        ("0 0 LW * *", "'LW' uses 'L', which Debian's cron rejects"),
        ("0 0 * * 5L", "'5L' uses 'L', which Debian's cron rejects"),
    ],
)
def test_an_expression_with_l_warns_that_debian_cron_rejects_it(schedule, said):
    (message,) = errors_for(job("Last", schedule=schedule, timezone="UTC"))
    assert (message.id, message.level) == ("cronjobs.W023", checks.WARNING)
    assert said in message.msg


@pytest.mark.parametrize("schedule", ["0 3 * * 5", "0 3 * JUL FRI", "@daily", "*/5 * * * *", "0 0 1-7 * *"])
def test_expressions_both_crons_read_alike_do_not_warn(schedule):
    assert errors_for(job("Alike", schedule=schedule, timezone="UTC")) == []
