"""django-crontab's ``CRONJOBS`` list (0.7.1, its README's entries) read as jobs and run by runcrons,
slot for slot over a frozen clock, each entry called as django-crontab's own ``crontab run`` calls it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from django.core import checks
from django.core.management import call_command
from django.test.utils import override_settings

from cronjobs import registry
from cronjobs.checks.base import error
from cronjobs.models import Run
from cronjobs.peers import crontab
from cronjobs.testing import frozen_clock
from tests.testapp.models import Effect

FUNCTIONS = "tests.testapp.crontab_functions"
#: django-crontab's README, its functions in tests/testapp/crontab_functions.py.
README = [
    ("*/5 * * * *", f"{FUNCTIONS}.my_scheduled_job"),
    ("*/5 * * * *", f"{FUNCTIONS}.other_scheduled_job", ["arg1", "arg2"], {"verbose": 0}),
    ("0   4 * * *", "django.core.management.call_command", ["clearsessions"]),
]
AT = datetime(2026, 12, 2, 3, 58, tzinfo=timezone.utc)
# registry.get_jobs() reads the stored schedules too: every test may use the database.
pytestmark = pytest.mark.django_db


def _cronjobs(entries: list) -> override_settings:
    return override_settings(CRONJOBS=entries)


def _messages() -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks(tags=["cronjobs"]) if m.id in ("cronjobs.E010", "cronjobs.E210")]


def test_each_entry_is_a_job_whose_code_is_the_call_it_makes():
    with _cronjobs(README):
        jobs = registry.get_jobs()
        assert list(jobs) == [
            f"{FUNCTIONS}.my_scheduled_job",
            f"{FUNCTIONS}.other_scheduled_job-" + _digest([["arg1", "arg2"], {"verbose": 0}]),
            "command.clearsessions",
        ]
        assert [job.schedule for job in jobs.values()] == ["*/5 * * * *", "*/5 * * * *", "0   4 * * *"]
        command = jobs["command.clearsessions"]
        assert (command.command, command.args, command.options) == ("clearsessions", (), {})


@pytest.mark.django_db(transaction=True)
def test_the_readme_s_entries_run_at_their_slots_with_their_arguments():
    with _cronjobs(README), frozen_clock(AT) as clock:
        call_command("runcrons", "-v0")  # first seen: the schedules start now
        for _minute in range(10):  # 03:59 ... 04:08
            clock.tick()
            call_command("runcrons", "-v0")
    runs = sorted(Run.objects.values_list("job__code", "slot", "status"))
    four = AT.replace(hour=4, minute=0)
    other = f"{FUNCTIONS}.other_scheduled_job-" + _digest([["arg1", "arg2"], {"verbose": 0}])
    assert runs == [
        ("command.clearsessions", four, "succeeded"),
        (f"{FUNCTIONS}.my_scheduled_job", four, "succeeded"),
        (f"{FUNCTIONS}.my_scheduled_job", four + timedelta(minutes=5), "succeeded"),
        (other, four, "succeeded"),
        (other, four + timedelta(minutes=5), "succeeded"),
    ]
    assert sorted(Effect.objects.values_list("job", flat=True)) == [
        "my_scheduled_job()",
        "my_scheduled_job()",
        "other_scheduled_job('arg1', 'arg2'){'verbose': 0}",
        "other_scheduled_job('arg1', 'arg2'){'verbose': 0}",
    ]


@pytest.mark.django_db
def test_each_entry_makes_the_call_django_crontab_s_own_crontab_run_makes(monkeypatch):
    from django_crontab.crontab import Crontab

    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")
    entries = [*README[:2], ("0 0 1 * *", f"{FUNCTIONS}.other_scheduled_job", ["myapp"])]
    with _cronjobs(entries):
        theirs = Crontab(verbosity=0)
        for index, entry in enumerate(entries):
            Effect.objects.all().delete()
            theirs.run_job(_md5(entry))
            expected = list(Effect.objects.values_list("job", flat=True))
            Effect.objects.all().delete()
            crontab.read().jobs[index]().run()
            assert list(Effect.objects.values_list("job", flat=True)) == expected != []


@pytest.mark.django_db(transaction=True)
def test_a_suffix_redirecting_the_output_to_a_file_writes_that_file(tmp_path):
    target = tmp_path / "last_sunday_auth_backup.json"
    entries = [("0 0 * * 0", "django.core.management.call_command", ["dumpdata", "auth"], {"indent": 4}, f"> {target}")]
    with _cronjobs(entries):
        call_command("runcrons", "command.dumpdata-" + _digest([["auth"], {"indent": 4}]), "--force", "-v0")
    assert {row["model"] for row in json.loads(target.read_text())} == {"auth.permission"}
    assert Run.objects.get().status == "succeeded"


def test_the_same_call_on_two_schedules_is_two_jobs_named_by_their_schedules():
    with _cronjobs([("0 4 * * *", f"{FUNCTIONS}.my_scheduled_job"), ("0 16 * * *", f"{FUNCTIONS}.my_scheduled_job")]):
        assert list(registry.get_jobs()) == [
            f"{FUNCTIONS}.my_scheduled_job@0_4_*_*_*",
            f"{FUNCTIONS}.my_scheduled_job@0_16_*_*_*",
        ]


def test_manage_py_check_says_what_was_read():
    with _cronjobs(README[:1] + README[2:]):
        assert [m for m in checks.run_checks(tags=["cronjobs"]) if m.id == "cronjobs.I210"] == [
            checks.Info(
                "CRONJOBS is django-crontab's list: 2 of its entries run as jobs here.",
                hint=f"{FUNCTIONS}.my_scheduled_job = '{FUNCTIONS}.my_scheduled_job' at '*/5 * * * *'; "
                "command.clearsessions = command 'clearsessions' at '0   4 * * *'. Their times are read in "
                "TIME_ZONE; django-crontab's CRONTAB_* settings are not used (installcrons writes the one "
                "crontab line).",
                id="cronjobs.I210",
            )
        ]


def test_an_entry_that_cannot_be_mapped_is_an_error_naming_it_and_the_others_run():
    hint = "Fix the entry, or move it to a job class or @cron(...) function in cron.py."
    entries = [
        ("*/5 * * * * *", f"{FUNCTIONS}.my_scheduled_job"),
        ("*/5 * * * *", "myapp.cron.missing"),
        ("*/5 * * * *", f"{FUNCTIONS}.my_scheduled_job", "| mail -s cron root"),
        ("*/5 * * * *", f"{FUNCTIONS}.my_scheduled_job", ">> /tmp/log", {"x": 1}),
        ("0 4 * * *", "django.core.management.call_command", [], {"verbosity": 0}),
        ("*/5 * * * *",),
        ("*/5 * * * *", f"{FUNCTIONS}.prints", ["ok"]),
    ]
    with _cronjobs(entries):
        assert _messages() == [
            error(
                "CRONJOBS[0] ('*/5 * * * * *', 'tests.testapp.crontab_functions.my_scheduled_job'): bad schedule: "
                "'*/5 * * * * *' has 6 fields; a cron expression has five: minute hour day-of-month month "
                "day-of-week.",
                hint,
                210,
            ),
            error(
                "CRONJOBS[1] ('*/5 * * * *', 'myapp.cron.missing'): 'myapp.cron.missing' cannot be imported: "
                "No module named 'myapp'.",
                hint,
                210,
            ),
            error(
                f"CRONJOBS[2] ('*/5 * * * *', '{FUNCTIONS}.my_scheduled_job', '| mail -s cron root'): the suffix "
                "'| mail -s cron root' is a shell command line, and runcrons runs no shell: only '> file' and "
                "'>> file' (maybe with 2>&1) are understood.",
                hint,
                210,
            ),
            error(
                f"CRONJOBS[3] ('*/5 * * * *', '{FUNCTIONS}.my_scheduled_job', '>> /tmp/log', {{'x': 1}}): after a "
                "suffix (format 1) nothing may follow; arguments go before it (format 2).",
                hint,
                210,
            ),
            error(
                "CRONJOBS[4] ('0 4 * * *', 'django.core.management.call_command', [], {'verbosity': 0}): "
                "call_command needs the command's name first in the arguments, e.g. ['clearsessions'].",
                hint,
                210,
            ),
            error(
                "CRONJOBS[5] ('*/5 * * * *',): an entry is a tuple (expression, 'dotted.function', ...) of at "
                "least two items.",
                hint,
                210,
            ),
        ]
        assert list(registry.get_jobs()) == [f"{FUNCTIONS}.prints-" + _digest([["ok"], {}])]


def test_our_own_cronjobs_dict_is_read_as_before_and_anything_else_is_still_e010():
    with _cronjobs({"LOCKS": "file"}):
        assert [m.id for m in _messages()] == ["cronjobs.E010"]
    with _cronjobs("*/5 * * * *"):
        assert [m.id for m in _messages()] == ["cronjobs.E010"]
        assert crontab.read().jobs == []


def _digest(arguments: list) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(arguments, sort_keys=True).encode()).hexdigest()[:8]


def _md5(entry: tuple) -> str:
    """django-crontab's name for an entry (Crontab.__hash_job)."""
    import hashlib

    return hashlib.md5(json.JSONEncoder(sort_keys=True).encode(entry).encode("utf-8")).hexdigest()
