"""Signals around runs, failure mail once per streak, health-check pings to a local server."""

from __future__ import annotations

import http.server
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from django.test.utils import override_settings

from cronjobs import signals
from cronjobs.engine.runner import Runner
from cronjobs.models import Job, Run
from cronjobs.ops import notices
from tests.testapp.jobs import Chatty, Flaky

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def run(jobs: dict, minute: int):
    return Runner(jobs, now=at(minute)).run()


# -- signals ---------------------------------------------------------------------------


def test_signals_are_sent_when_a_run_starts_and_when_it_ends():
    seen = []

    def started(sender, run, **kwargs):
        seen.append(("started", sender, run.status, run.output))

    def finished(sender, run, outcome, **kwargs):
        seen.append(("finished", sender, run.status, run.output, outcome.status, run.pk == outcome.run_id))

    signals.run_started.connect(started)
    signals.run_finished.connect(finished)
    try:
        run({"test.chatty": Chatty}, 0)
        run({"test.chatty": Chatty}, 1)
    finally:
        signals.run_started.disconnect(started)
        signals.run_finished.disconnect(finished)
    output = "stdout line 0\nstderr line 0\nWARNING testapp: log line 0\n"
    assert seen == [
        ("started", Chatty, "running", ""),
        ("finished", Chatty, "succeeded", output, "succeeded", True),
    ]
    assert Run.objects.get().output == output


def test_a_receiver_that_raises_is_logged_and_changes_nothing(caplog):
    def broken(sender, **kwargs):
        raise ValueError("receiver bug")

    signals.run_finished.connect(broken)
    try:
        run({"test.chatty": Chatty}, 0)
        outcomes = run({"test.chatty": Chatty}, 1)
    finally:
        signals.run_finished.disconnect(broken)
    assert [o.status for o in outcomes] == ["succeeded"]
    assert "receiver" in caplog.text and "ValueError: receiver bug" in caplog.text


@override_settings(CRONJOBS={"AUTODISCOVER": False, "OUTPUT_LIMIT": 40})
def test_output_beyond_the_limit_is_cut_in_the_middle(monkeypatch):
    monkeypatch.setenv("CRONJOBS_TEST_LINES", "50")
    run({"test.chatty": Chatty}, 0)
    run({"test.chatty": Chatty}, 1)
    output = Run.objects.get().output
    cut = "\n[... 2880 bytes cut here by CRONJOBS['OUTPUT_LIMIT'] ...]\n"
    assert output == "stdout line 0\nstderr" + cut + "estapp: log line 49\n"


# -- mail ------------------------------------------------------------------------------

MAIL = override_settings(CRONJOBS={"AUTODISCOVER": False, "MAIL_ADMINS": True}, ADMINS=[("Ops", "ops@example.com")])


@pytest.fixture
def flaky():
    Flaky.failing = True
    yield Flaky
    Flaky.failing = True


@MAIL
def test_a_failing_streak_mails_once_and_recovery_mails_once(mailoutbox, flaky):
    jobs = {"test.flaky": flaky}
    for minute in range(5):  # minute 0 only sees the job; 1-4 fail
        run(jobs, minute)
    assert [m.subject for m in mailoutbox] == ["[Django] cron job test.flaky failed"]
    body = mailoutbox[0].body
    assert "RuntimeError: flaky is failing" in body and "Traceback" in body and "flaky ran" in body
    assert Job.objects.get().failing_since is not None
    flaky.failing = False
    run(jobs, 5)
    run(jobs, 6)
    assert [m.subject for m in mailoutbox][1:] == ["[Django] cron job test.flaky recovered"]
    assert Job.objects.get().failing_since is None
    flaky.failing = True
    run(jobs, 7)
    assert len(mailoutbox) == 3 and mailoutbox[2].subject.endswith("failed")


@MAIL
def test_a_failure_that_a_retry_fixes_is_not_mailed(mailoutbox, flaky):
    class RetriedOnce(flaky):
        code = "test.flaky_retried"
        retries = 1
        retry_delay = timedelta(0)

        def run(self):
            type(self).failing = self.attempt == 1
            return super().run()

    jobs = {"test.flaky_retried": RetriedOnce}
    run(jobs, 0)
    outcomes = run(jobs, 1)
    assert [o.status for o in outcomes] == ["failed", "succeeded"]
    assert mailoutbox == []


def test_without_mail_admins_no_mail_is_sent_but_the_streak_is_tracked(mailoutbox, flaky):
    run({"test.flaky": flaky}, 0)
    run({"test.flaky": flaky}, 1)
    assert mailoutbox == []
    assert Job.objects.get().failing_since is not None


# -- pings -----------------------------------------------------------------------------


class Monitor:
    """A local HTTP server that records pings; ``answers`` scripts its replies."""

    def __init__(self, answers=None, delay=0.0):
        self.requests: list[tuple[str, str, bytes]] = []
        self.answers = list(answers or [])
        monitor = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                monitor.requests.append((self.command, self.path, body))
                time.sleep(delay)
                code = monitor.answers.pop(0) if monitor.answers else 200
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: what the timeout test wants

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/ping/abc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def monitor():
    server = Monitor()
    yield server
    server.close()


def test_a_successful_run_pings_start_then_success_with_its_output(monitor):
    class Pinged(Chatty):
        code = "test.pinged"
        ping_url = monitor.url

    run({"test.pinged": Pinged}, 0)
    run({"test.pinged": Pinged}, 1)
    (m1, start, body1), (m2, done, body2) = monitor.requests
    assert (m1, m2) == ("POST", "POST")
    assert start.startswith("/ping/abc/start?rid=")
    assert done == "/ping/abc?rid=" + start.split("rid=")[1]
    assert body1 == b""
    assert body2 == b"stdout line 0\nstderr line 0\nWARNING testapp: log line 0\n"


def test_a_failed_run_pings_fail_with_the_traceback(monitor, flaky):
    class Pinged(flaky):
        code = "test.pinged_flaky"
        ping_url = monitor.url + "/"

    run({"test.pinged_flaky": Pinged}, 0)
    run({"test.pinged_flaky": Pinged}, 1)
    paths = [path.split("?")[0] for _, path, _ in monitor.requests]
    assert paths == ["/ping/abc/start", "/ping/abc/fail"]
    body = monitor.requests[1][2].decode()
    assert body.startswith("flaky ran\n") and "RuntimeError: flaky is failing" in body


def test_a_ping_is_retried_once_after_a_server_error():
    server = Monitor(answers=[503, 200])
    try:
        assert notices.ping(server.url, b"x", timeout=5) is True
        assert len(server.requests) == 2
    finally:
        server.close()


def test_a_ping_refused_by_the_monitor_is_not_retried():
    server = Monitor(answers=[404])
    try:
        assert notices.ping(server.url, b"x", timeout=5) is False
        assert len(server.requests) == 1
    finally:
        server.close()


def test_a_monitor_that_hangs_or_is_down_never_fails_the_job(flaky):
    hanging = Monitor(delay=3)
    try:

        class Pinged(Chatty):
            code = "test.pinged_hanging"
            ping_url = hanging.url

        with override_settings(CRONJOBS={"AUTODISCOVER": False, "PING_TIMEOUT": 0.3}):
            run({"test.pinged_hanging": Pinged}, 0)
            outcomes = run({"test.pinged_hanging": Pinged}, 1)
        assert [o.status for o in outcomes] == ["succeeded"]
        assert notices.ping("http://127.0.0.1:9/nothing-listens", b"", timeout=0.5) is False
    finally:
        hanging.close()
