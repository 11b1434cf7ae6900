"""The helpers users test their jobs with (cronjobs.testing)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import call_command
from django.test import override_settings

from cronjobs.engine import clock
from cronjobs.models import Run
from cronjobs.testing import cronjobs_clock, frozen_clock, run_job
from tests.testapp.api_jobs import DecidesItself, HookedJob
from tests.testapp.jobs import EveryMinute, Hourly, WritesThenFails
from tests.testapp.models import Effect

assert cronjobs_clock is not None  # the fixture, imported into this module like a conftest would
AT = datetime(2026, 12, 2, 10, 17, 30, tzinfo=timezone.utc)


@pytest.mark.django_db
def test_run_job_runs_the_newest_slot_and_returns_the_outcome_and_the_record():
    with frozen_clock(AT):
        result = run_job(Hourly)
    assert result.succeeded and result.status == "succeeded"
    assert result.run.slot == datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
    assert result.run.status == Run.Status.SUCCEEDED and result.run.finished_at is not None
    assert list(Effect.objects.values_list("job", "slot")) == [("test.hourly", result.run.slot)]


@pytest.mark.django_db
def test_run_job_records_a_failure_with_its_traceback_and_rolls_back():
    result = run_job(WritesThenFails, slot=AT.replace(second=0))
    assert result.status == "failed" and not result.succeeded
    assert result.run.message == "RuntimeError: boom after two writes"
    assert "RuntimeError" in result.run.traceback
    assert Effect.objects.count() == 0


@pytest.mark.django_db
def test_run_job_keeps_conditions_and_hooks_and_force_skips_the_conditions():
    slot = AT.replace(second=0)
    assert run_job(DecidesItself, slot=slot).run.message == "should_run(slot) returned False"
    assert run_job(DecidesItself, slot=slot + timedelta(minutes=1), force=True).succeeded
    assert run_job(HookedJob, slot=slot).run.message == "done"
    assert Effect.objects.filter(job__startswith="test.hooked|on_finish:succeeded").count() == 1


@pytest.mark.django_db
def test_a_slot_that_ran_cannot_run_again():
    slot = AT.replace(second=0)
    run_job(EveryMinute, slot=slot)
    with pytest.raises(ValueError, match="already has a run"):
        run_job(EveryMinute, slot=slot)


@pytest.mark.django_db(transaction=True)
def test_the_frozen_clock_drives_runcrons_minute_by_minute():
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.EveryMinute"]}):
        with frozen_clock(AT) as frozen:
            call_command("runcrons", stdout=io.StringIO())  # first sight: starts from now
            for _ in range(3):
                frozen.tick()
                call_command("runcrons", stdout=io.StringIO())
            assert frozen.now == AT + timedelta(minutes=3)
    slots = list(Run.objects.order_by("slot").values_list("slot", flat=True))
    assert slots == [datetime(2026, 12, 2, 10, m, tzinfo=timezone.utc) for m in (18, 19, 20)]
    assert not clock.frozen()


def test_the_fixture_holds_the_clock_at_the_start_of_the_minute(cronjobs_clock):
    assert clock.frozen()
    assert cronjobs_clock.now.second == 0
    before = cronjobs_clock.now
    assert cronjobs_clock.tick(timedelta(hours=1)) == before + timedelta(hours=1)


def test_the_clock_refuses_naive_moments():
    with pytest.raises(ValueError, match="aware"), frozen_clock(datetime(2026, 1, 1)):
        pass
