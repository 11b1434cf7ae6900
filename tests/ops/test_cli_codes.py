"""``cronjobs list CODE...`` and several codes for ``pause``/``resume``."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from cronjobs.models import Job

pytestmark = pytest.mark.django_db
JOBS = ["tests.testapp.jobs.EveryMinute", "tests.testapp.jobs.Flaky", "tests.testapp.jobs.Hourly"]


@pytest.fixture(autouse=True)
def jobs():
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": JOBS}):
        yield


def cronjobs(*args: str) -> str:
    out = io.StringIO()
    call_command("cronjobs", *args, stdout=out)
    return out.getvalue()


def test_list_shows_only_the_codes_given():
    text = cronjobs("list", "test.hourly", "test.flaky")
    heads = [block.split()[0] for block in text.strip().split("\n\n")]
    assert heads == ["test.flaky", "test.hourly"]
    data = json.loads(cronjobs("list", "test.hourly", "--json"))
    assert [job["code"] for job in data["jobs"]] == ["test.hourly"]


def test_list_suggests_the_closest_code_for_a_typo():
    with pytest.raises(CommandError, match=r"did you mean 'test.hourly'\?") as raised:
        cronjobs("list", "test.hourlly")
    assert raised.value.returncode == 2


def test_pause_and_resume_take_several_codes():
    text = cronjobs("pause", "test.hourly", "test.flaky")
    assert "test.hourly: paused." in text and "test.flaky: paused." in text
    assert set(Job.objects.filter(paused=True).values_list("code", flat=True)) == {"test.hourly", "test.flaky"}
    text = cronjobs("resume", "test.hourly", "test.flaky")
    assert text.count("resumed;") == 2
    assert not Job.objects.filter(paused=True).exists()


def test_a_typo_among_several_codes_pauses_none():
    with pytest.raises(CommandError, match="did you mean"):
        cronjobs("pause", "test.hourly", "test.flaki")
    assert not Job.objects.filter(paused=True).exists()


def test_a_misspelt_subcommand_suggests_the_closest():
    with pytest.raises(CommandError, match=r"invalid choice: 'lsit'.*; did you mean 'list'\?"):
        cronjobs("lsit")
