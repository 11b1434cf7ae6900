"""healthchecks.io and Cronitor against a local server that records the exact requests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.test.utils import override_settings

from cronjobs import monitors
from cronjobs.engine.runner import Runner
from cronjobs.models import Run
from cronjobs.monitors.base import run_uuid
from tests.support.monitors import RecordingServer, free_port
from tests.testapp.jobs import Chatty, Flaky

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
OUTPUT = "stdout line 0\nstderr line 0\nWARNING testapp: log line 0\n"


def run_twice(job):
    """Minute 0 only sees the job; minute 1 runs it. Returns minute 1's outcomes."""
    jobs = {job.get_code(): job}
    Runner(jobs, now=T0).run()
    return Runner(jobs, now=T0 + timedelta(minutes=1)).run()


def settings_with(**monitors_setting):
    return override_settings(CRONJOBS={"AUTODISCOVER": False, "MONITORS": monitors_setting})


@pytest.fixture
def server():
    recorder = RecordingServer()
    yield recorder
    recorder.close()


@pytest.fixture
def flaky():
    Flaky.failing = True
    yield Flaky


class Nightly(Chatty):
    code = "reports.Nightly"


# -- healthchecks.io -------------------------------------------------------------------


def test_a_success_pings_start_then_success_with_the_run_id_and_output(server):
    with settings_with(hc={"BACKEND": "healthchecks", "PING_KEY": "pk", "BASE_URL": server.url}):
        run_twice(Nightly)
    rid = run_uuid(Run.objects.get())
    assert [(r.method, r.path, r.body) for r in server.requests] == [
        ("POST", f"/pk/reports-nightly/start?create=1&rid={rid}", b""),
        ("POST", f"/pk/reports-nightly?create=1&rid={rid}", OUTPUT.encode()),
    ]


def test_a_failure_pings_its_exit_status_with_the_output_tail_and_traceback(server, flaky):
    class Failing(flaky):
        code = "test.failing"
        monitors = {"hc": {"URL": server.url + "/0a1b2c", "BODY_LIMIT": 200}}

    with settings_with(hc={"BACKEND": "healthchecks"}):
        outcomes = run_twice(Failing)
    assert [o.status for o in outcomes] == ["failed"]
    rid = run_uuid(Run.objects.get())
    start, end = server.requests
    assert (start.path, end.path) == (f"/0a1b2c/start?rid={rid}", f"/0a1b2c/1?rid={rid}")
    body = end.body.decode()
    assert len(body) == 200 and body.endswith("RuntimeError: flaky is failing\n")


def test_without_exit_status_a_failure_pings_fail(server, flaky):
    class Failing(flaky):
        code = "test.failing_plain"

    with settings_with(hc={"BACKEND": "healthchecks", "URL": server.url + "/u", "EXIT_STATUS": False}):
        run_twice(Failing)
    assert [r.route for r in server.requests] == ["/u/start", "/u/fail"]


def test_a_timed_out_run_pings_exit_status_124(server):
    from tests.testapp.jobs import LongSleep

    class Slow(LongSleep):
        code = "test.slow_pinged"
        timeout = timedelta(seconds=0.5)

    with settings_with(hc={"BACKEND": "healthchecks", "URL": server.url + "/u"}):
        outcomes = run_twice(Slow)
    assert [o.status for o in outcomes] == ["timed_out"]
    assert [r.route for r in server.requests] == ["/u/start", "/u/124"]


def test_a_ping_is_retried_after_a_server_error_with_the_same_request(flaky):
    server = RecordingServer(answers=[503, 200, 500, 200])
    try:
        with settings_with(hc={"BACKEND": "healthchecks", "URL": server.url + "/u"}):
            run_twice(Nightly)
        paths = [r.path for r in server.requests]
        assert len(paths) == 4 and paths[0] == paths[1] and paths[2] == paths[3]
        assert paths[0].startswith("/u/start?") and paths[2].startswith("/u?")
    finally:
        server.close()


def test_retries_are_bounded():
    server = RecordingServer(answers=[503] * 10)
    try:
        with settings_with(hc={"BACKEND": "healthchecks", "URL": server.url + "/u", "RETRIES": 2}):
            outcomes = run_twice(Nightly)
        assert [o.status for o in outcomes] == ["succeeded"]
        assert len(server.requests) == 6  # (1 + 2 retries) for the start, the same for the end
    finally:
        server.close()


def test_a_skipped_slot_is_logged_without_changing_the_check(server):
    Runner({"reports.Nightly": Nightly}, now=T0).run()
    skipped = Run.objects.create(job_id="reports.Nightly", slot=T0, status="skipped", message="lock held by x")
    with settings_with(hc={"BACKEND": "healthchecks", "URL": server.url + "/u"}):
        monitors.run_finished(Nightly, skipped)
    (request,) = server.requests
    assert request.path == f"/u/log?rid={run_uuid(skipped)}"
    assert request.body == b"slot 2026-03-01 12:00:30 UTC skipped: lock held by x"


def test_a_monitor_that_is_slow_never_delays_the_job_beyond_its_timeout():
    slow = RecordingServer(delay=60)  # it answers a minute after each request
    try:
        with settings_with(hc={"BACKEND": "healthchecks", "URL": slow.url + "/u", "TIMEOUT": 0.3}):
            Runner({"reports.Nightly": Nightly}, now=T0).run()
            outcomes = Runner({"reports.Nightly": Nightly}, now=T0 + timedelta(minutes=1)).run()
            answered = slow.answered
        assert [o.status for o in outcomes] == ["succeeded"]
        # No retry: the budget was spent waiting (on a busy machine a request may even be given
        # up before it was sent: at most one per event, never more).
        assert len(slow.requests) <= 2
        assert answered == 0  # the run ended before the server's first answer: it gave up at its timeout
    finally:
        slow.close()


def test_a_monitor_that_is_down_never_fails_the_job(caplog):
    url = f"http://127.0.0.1:{free_port()}/u"
    with settings_with(hc={"BACKEND": "healthchecks", "URL": url, "TIMEOUT": 1}):
        outcomes = run_twice(Nightly)
    assert [o.status for o in outcomes] == ["succeeded"]
    assert caplog.text.count("Connection refused") <= 4  # two events, one retry each at most
    assert "monitor request http://127.0.0.1" in caplog.text and "Connection refused" in caplog.text


def test_a_monitor_that_raises_is_logged_and_the_job_still_succeeds(caplog):
    with settings_with(bad={"BACKEND": "tests.monitors.test_healthchecks.Exploding"}):
        outcomes = run_twice(Nightly)
    assert [o.status for o in outcomes] == ["succeeded"]
    assert "monitor bad raised on started" in caplog.text and "monitor bad raised on finished" in caplog.text


class Exploding(monitors.Monitor):
    def started(self, job, run):
        raise RuntimeError("monitor bug")

    finished = started


# -- per-job configuration ---------------------------------------------------------------


@settings_with(
    hc={"BACKEND": "healthchecks", "PING_KEY": "k"},
    cr={"BACKEND": "cronitor", "API_KEY": "a"},
)
def test_a_job_overrides_merges_and_leaves_out_monitors():
    class Own(Chatty):
        code = "test.own"
        monitors = {"hc": {"SLUG": "own"}, "cr": False, "extra": {"BACKEND": "cronitor", "API_KEY": "b"}}

    class Quiet(Chatty):
        code = "test.quiet"
        monitors = False

    class Legacy(Chatty):
        code = "test.legacy"
        ping_url = "https://hc-ping.com/uuid"

    assert monitors.configured(Own) == {
        "hc": {"BACKEND": "healthchecks", "PING_KEY": "k", "SLUG": "own"},
        "extra": {"BACKEND": "cronitor", "API_KEY": "b"},
    }
    assert monitors.configured(Quiet) == {}
    assert sorted(monitors.configured(Legacy)) == ["cr", "hc", "ping_url"]
    assert [type(m).__name__ for m in monitors.for_job(Own)] == ["Healthchecks", "Cronitor"]


# -- Cronitor ------------------------------------------------------------------------------


def test_cronitor_gets_run_then_complete_with_series_duration_env_and_message(server):
    with settings_with(cr={"BACKEND": "cronitor", "API_KEY": "KEY", "ENV": "production", "BASE_URL": server.url}):
        run_twice(Nightly)
    run = Run.objects.get()
    series = run_uuid(run)
    start, end = server.requests
    assert (start.method, start.route, end.method, end.route) == ("GET", "/p/KEY/reports-nightly") * 2
    assert start.query == [("state", "run"), ("series", series), ("host", run.hostname), ("env", "production")]
    assert end.query == [
        ("state", "complete"),
        ("status_code", "0"),
        ("metric", f"duration:{run.duration:.3f}"),
        ("message", "chatted"),
        ("series", series),
        ("host", run.hostname),
        ("env", "production"),
    ]


def test_cronitor_gets_fail_with_the_exit_status_and_the_output_tail(server, flaky):
    class Failing(flaky):
        code = "test.failing_cr"
        monitors = {"cr": {"KEY": "my-job"}}

    with settings_with(cr={"BACKEND": "cronitor", "API_KEY": "KEY", "BASE_URL": server.url}):
        run_twice(Failing)
    end = dict(server.requests[1].query)
    assert server.requests[1].route == "/p/KEY/my-job"
    assert end["state"] == "fail" and end["status_code"] == "1"
    message = end["message"]
    assert message.startswith("RuntimeError: flaky is failing\n\nflaky ran\nTraceback (most recent call last):")
    assert message.endswith("RuntimeError: flaky is failing\n")


def test_a_monitor_whose_backend_cannot_be_imported_is_logged_and_left_out(server, caplog):
    with settings_with(bad={"BACKEND": "nagios"}, hc={"BACKEND": "healthchecks", "URL": server.url + "/u"}):
        outcomes = run_twice(Nightly)
    assert [o.status for o in outcomes] == ["succeeded"]
    assert [r.route for r in server.requests] == ["/u/start", "/u"]
    assert "monitor bad of reports.Nightly cannot be used: ImportError" in caplog.text
