"""Sentry Crons through the real sentry-sdk, its DSN pointing at a local server."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from django.test.utils import override_settings

from cronjobs.engine.runner import Runner
from cronjobs.models import Run
from cronjobs.monitors import sentry as sentry_monitor
from cronjobs.monitors.base import run_uuid
from cronjobs.monitors.sentry import SentryCrons
from tests.support.monitors import RecordingServer
from tests.testapp.jobs import Chatty, Flaky

pytest.importorskip("sentry_sdk")
pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)


class Prices(Chatty):
    code = "prices.Refresh"
    schedule = "*/5 * * * *"
    interval = None
    timezone = "Europe/Berlin"
    timeout = timedelta(minutes=7, seconds=30)


def run_slot(job):
    """Sees the job at T0, then runs its first slot."""
    jobs = {job.get_code(): job}
    Runner(jobs, now=T0).run()
    return Runner(jobs, now=job.get_schedule().next_after(T0) + timedelta(seconds=5)).run()


@pytest.fixture(autouse=True)
def _clients_closed():
    """The clients a test made are closed after it: a client whose server is gone would go on
    retrying its check-ins in the background, and reach whatever server a later test starts on
    the same port."""
    yield
    for client in sentry_monitor._clients.values():
        client.close(timeout=0)
    sentry_monitor._clients.clear()


@pytest.fixture
def sentry():
    server = RecordingServer()
    server.dsn = f"http://public@127.0.0.1:{server.server.server_port}/42"
    yield server
    server.close()


def check_ins(server, count):
    found = []
    for request in server.wait_for(count):
        assert (request.method, request.route) == ("POST", "/api/42/envelope/")
        found += [payload for header, payload in request.envelope() if header.get("type") == "check_in"]
    return found


def test_a_run_sends_in_progress_then_ok_with_its_duration_and_the_monitor_config(sentry):
    with override_settings(
        CRONJOBS={"AUTODISCOVER": False, "MONITORS": {"s": {"BACKEND": "sentry", "DSN": sentry.dsn}}}
    ):
        run_slot(Prices)
    started, finished = check_ins(sentry, 2)
    run = Run.objects.get()
    config = {
        "schedule": {"type": "crontab", "value": "*/5 * * * *"},
        "timezone": "Europe/Berlin",
        "checkin_margin": 5,
        "max_runtime": 8,  # the job's timeout, in whole minutes, rounded up
    }
    check_in_id = uuid.UUID(run_uuid(run)).hex
    assert {k: started[k] for k in ("monitor_slug", "check_in_id", "status", "monitor_config")} == {
        "monitor_slug": "prices-refresh",
        "check_in_id": check_in_id,
        "status": "in_progress",
        "monitor_config": config,
    }
    assert started.get("duration") is None
    assert {k: finished[k] for k in ("monitor_slug", "check_in_id", "status", "monitor_config")} == {
        "monitor_slug": "prices-refresh",
        "check_in_id": check_in_id,
        "status": "ok",
        "monitor_config": config,
    }
    assert finished["duration"] == pytest.approx(run.duration)


def test_a_failure_sends_error_and_options_shape_the_monitor(sentry):
    Flaky.failing = True

    class Failing(Flaky):
        code = "test.failing_sentry"
        schedule = None
        interval = timedelta(hours=2)
        monitors = {
            "s": {
                "SLUG": "billing",
                "CHECKIN_MARGIN": timedelta(seconds=90),
                "MAX_RUNTIME": timedelta(hours=1),
                "FAILURE_ISSUE_THRESHOLD": 2,
            }
        }

    with override_settings(
        CRONJOBS={"AUTODISCOVER": False, "MONITORS": {"s": {"BACKEND": "sentry", "DSN": sentry.dsn}}}
    ):
        outcomes = run_slot(Failing)
    assert [o.status for o in outcomes] == ["failed"]
    started, finished = check_ins(sentry, 2)
    assert (started["monitor_slug"], started["status"], finished["status"]) == ("billing", "in_progress", "error")
    assert finished["monitor_config"] == {
        "schedule": {"type": "interval", "value": 2, "unit": "hour"},
        "checkin_margin": 2,
        "max_runtime": 60,
        "failure_issue_threshold": 2,
    }


def test_a_slow_sentry_never_delays_the_job_beyond_its_timeout():
    slow = RecordingServer(delay=60)  # it answers a minute after each request
    dsn = f"http://public@127.0.0.1:{slow.server.server_port}/42"
    try:
        with override_settings(
            CRONJOBS={"AUTODISCOVER": False, "MONITORS": {"s": {"BACKEND": "sentry", "DSN": dsn, "TIMEOUT": 0.5}}}
        ):
            Runner({"prices.Refresh": Prices}, now=T0).run()
            outcomes = Runner({"prices.Refresh": Prices}, now=datetime(2026, 3, 1, 12, 5, 5, tzinfo=timezone.utc)).run()
            answered = slow.answered
        assert [o.status for o in outcomes] == ["succeeded"]
        assert answered == 0  # the run ended before Sentry's first answer: it gave up at its timeout
    finally:
        slow.close()


def test_without_a_dsn_nothing_is_sent_and_the_job_succeeds(caplog):
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "MONITORS": {"s": {"BACKEND": "sentry"}}}):
        outcomes = run_slot(Prices)
    assert [o.status for o in outcomes] == ["succeeded"]
    assert "no Sentry DSN" in caplog.text


def test_sub_minute_intervals_are_sent_as_one_minute():
    class Fast(Chatty):
        code = "test.fast"
        schedule = None
        interval = timedelta(seconds=20)

    with override_settings(CRONJOBS={"AUTODISCOVER": False}):
        config = SentryCrons("s", {"CHECKIN_MARGIN": None}).monitor_config(Fast)
    assert config == {"schedule": {"type": "interval", "value": 1, "unit": "minute"}, "max_runtime": 30}
