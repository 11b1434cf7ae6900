"""``manage.py cronjobs forget CODE...``: jobs removed from code leave the list, the JSON and the admin."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from cronjobs.engine.runner import Runner
from cronjobs.models import Action, Job, Run
from tests.testapp.jobs import EveryMinute, Hourly

pytestmark = pytest.mark.django_db


def cronjobs(*args: str) -> str:
    out = io.StringIO()
    call_command("cronjobs", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def removed():
    """test.every_minute ran once, then was removed from code; test.hourly stays."""
    now = datetime.now(timezone.utc)
    Runner({"test.every_minute": EveryMinute, "test.hourly": Hourly}, now=now - timedelta(minutes=1), force=True).run()
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.Hourly"]}):
        yield


def test_a_removed_job_is_listed_until_forgotten_then_gone_with_its_runs(removed):
    assert "NOT REGISTERED" in cronjobs("list")
    assert cronjobs("forget", "test.every_minute", "--yes").strip() == "Forgotten: test.every_minute."
    assert "test.every_minute" not in cronjobs("list")
    codes = [job["code"] for job in json.loads(cronjobs("list", "--json"))["jobs"]]
    assert codes == ["test.hourly"]
    assert not Run.objects.filter(job_id="test.every_minute").exists()
    assert Run.objects.filter(job_id="test.hourly").exists()
    action = Action.objects.get(kind="forget")
    assert action.job_code == "test.every_minute" and "manage.py cronjobs" in action.actor


def test_forget_refuses_a_job_still_in_code(removed):
    with pytest.raises(CommandError, match=r"test.hourly: still registered; remove the job from code first"):
        cronjobs("forget", "test.every_minute", "test.hourly")
    assert set(Job.objects.values_list("code", flat=True)) == {"test.every_minute", "test.hourly"}


def test_forget_suggests_the_closest_code_for_a_typo(removed):
    with pytest.raises(CommandError, match=r"did you mean 'test.every_minute'\?") as raised:
        cronjobs("forget", "test.every_minut")
    assert raised.value.returncode == 2


def test_forget_without_a_terminal_and_without_yes_deletes_nothing_and_exits_2(removed):
    with pytest.raises(CommandError) as raised:
        cronjobs("forget", "test.every_minute")
    assert raised.value.returncode == 2
    assert str(raised.value) == "test.every_minute: add --yes to delete their state and runs without a prompt"
    assert Run.objects.filter(job_id="test.every_minute").exists()


@pytest.mark.parametrize(
    ("answer", "said", "kept"), [("n", "Left as it is.", True), ("y", "Forgotten: test.every_minute.", False)]
)
def test_forget_on_a_terminal_asks_first_as_unlock_does(removed, monkeypatch, answer, said, kept):
    asked = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or answer)
    assert cronjobs("forget", "test.every_minute").strip() == said
    assert asked == ["Delete the state and every run of test.every_minute? [y/N] "]
    assert Job.objects.filter(code="test.every_minute").exists() is kept
