"""Values that used to pass the checks and then break every run: now check errors with a
hint, or a clean usage error; and messages that name the job's code, app and file."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.test import override_settings

from cronjobs import BaseCronJob

HERE = "tests.checks.test_absurd_values"


class NoRun(BaseCronJob):
    schedule = "@daily"
    code = "check.no_run"


class SharedBase(BaseCronJob):
    """A base meant for others, without ``abstract = True``."""

    schedule = "@hourly"


class HugeInterval(BaseCronJob):
    interval = timedelta(days=36500000)
    code = "check.huge_interval"

    def run(self):
        return None


class Step61(BaseCronJob):
    schedule = "*/61 * * * *"
    code = "check.step61"

    def run(self):
        return None


class Daily(BaseCronJob):
    schedule = "@daily"
    code = "check.daily"

    def run(self):
        return None


def messages_for(*names: str, **extra) -> list[checks.CheckMessage]:
    paths = [f"{HERE}.{name}" for name in names]
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": paths, "LOCK_DIR": None, **extra}):
        return [m for m in checks.run_checks(tags=["cronjobs"]) if m.id != "cronjobs.E120"]


def test_a_job_without_run_is_an_error_that_suggests_abstract():
    (message,) = messages_for("NoRun")
    assert message.id == "cronjobs.E122"
    assert message.msg.startswith("NoRun (code 'check.no_run', ")
    assert "defines no run() method" in message.msg
    assert "abstract = True" in message.hint


def test_check_messages_name_the_code_the_app_and_the_file_and_line():
    import inspect

    (message,) = messages_for("SharedBase")
    line = inspect.getsourcelines(SharedBase)[1]
    assert message.msg == f"SharedBase (code '{HERE}.SharedBase', tests/checks/test_absurd_values.py:{line}): " + (
        "defines no run() method."
    )


def test_a_huge_interval_is_an_error_not_an_overflow_at_run_time():
    (message,) = messages_for("HugeInterval")
    assert message.id == "cronjobs.E003"
    assert "interval must be at most 36525 days" in message.msg


def test_a_step_beyond_the_field_is_an_error_not_an_hourly_job():
    (message,) = messages_for("Step61")
    assert message.id == "cronjobs.E001"
    assert "the step of '*/61' in the minute field is not below the field's 60 values, so it only matches 0" in (
        message.msg
    )


@pytest.mark.parametrize(
    ("keep", "text"),
    [
        (10**30, "'count' must be at most 2147483647"),
        ({"count": 10, "age": timedelta(days=10**8)}, "'age' must be at most 36525 days"),
    ],
)
def test_absurd_retention_is_an_error(keep, text):
    (message,) = messages_for("Daily", KEEP_RUNS=keep)
    assert message.id == "cronjobs.E040" and text in message.msg


@pytest.mark.django_db
@pytest.mark.parametrize("option", ["--limit", "--run"])
def test_a_huge_number_on_the_command_line_is_a_usage_error(option):
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": [f"{HERE}.Daily"]}):
        with pytest.raises(CommandError, match=r"use at most 2147483647"):
            call_command("cronjobs", "history", option, "99999999999999999999", stdout=io.StringIO())


def test_a_wrong_default_lock_is_one_error_not_one_per_job():
    found = messages_for("Daily", "HugeInterval", LOCK="flock")
    assert [m.id for m in found if m.id == "cronjobs.E005"] == ["cronjobs.E005"]


def test_an_unknown_settings_key_suggests_the_closest():
    (message,) = messages_for("Daily", KEEP_RUN=5)
    assert message.id == "cronjobs.E010"
    assert message.hint.startswith("Did you mean 'KEEP_RUNS'? Accepted keys: ")


def test_an_unknown_command_suggests_the_closest():
    from cronjobs import CommandJob

    class Sessions(CommandJob):
        schedule = "@daily"
        command = "clearsession"
        code = "check.sessions"

    globals()["Sessions"] = Sessions
    Sessions.__module__ = HERE
    (message,) = messages_for("Sessions")
    assert message.id == "cronjobs.E014"
    assert message.hint.startswith("Did you mean 'clearsessions'? ")


def test_no_job_at_all_is_a_warning_unless_runcrons_drains_tasks():
    with override_settings(TASKS={}):
        found = messages_for()
    (message,) = found
    assert message.id == "cronjobs.W121" and message.level == checks.WARNING
    assert "startcronjob" in message.hint and "abstract = True" in message.hint
    assert messages_for() == []  # the test settings drain cronjobs' own task queue


@pytest.mark.django_db
def test_runcrons_and_list_stop_at_the_check_instead_of_overflowing():
    from django.core.management.base import SystemCheckError

    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": [f"{HERE}.HugeInterval"]}):
        with pytest.raises(CommandError, match=r"cronjobs.E003: HugeInterval .*at most 36525 days") as raised:
            call_command("runcrons", stdout=io.StringIO())
        assert raised.value.returncode == 2
        with pytest.raises(SystemCheckError, match=r"cronjobs.E003"):
            call_command("cronjobs", "list", stdout=io.StringIO(), skip_checks=False)
