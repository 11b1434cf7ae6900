"""A monitor's TIMEOUT is a deadline for the whole event, and its URL's secrets never reach a log."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from django.test.utils import override_settings

from cronjobs.engine.runner import Runner
from cronjobs.monitors import http
from tests.support.monitors import DrippingServer, RecordingServer, free_port
from tests.testapp.jobs import Chatty

T0 = datetime(2026, 3, 1, 12, 0, 30, tzinfo=timezone.utc)
KEY = "fqOOd6-F4MMNuCEnzTU01w"
UUID = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"


@pytest.fixture
def dripping():
    server = DrippingServer(every=0.5, length=400)  # 200 s of headers
    yield server
    server.close()


class Pinged(Chatty):
    code = "reports.Pinged"


def test_a_server_that_drips_its_headers_is_cut_off_at_the_deadline(dripping):
    # On a busy machine a 1 s budget may pass before the request is even sent (then nothing was
    # dripped and nothing proven): the budget doubles until the server got the request.
    for timeout in (1, 2, 4, 8, 16):
        assert http.send(dripping.url + "/u", b"", timeout=timeout, retries=1) is False
        if dripping.connected.wait(5):
            break
    assert dripping.connected.is_set(), "the request never reached the server"
    assert dripping.closed.wait(60), "the request was never abandoned"
    assert dripping.finished == 0 and len(dripping.sent) == 1  # no retry after the deadline
    assert dripping.sent[0] < dripping.length


@pytest.mark.django_db
def test_a_run_whose_monitor_drips_ends_and_abandons_both_events(dripping):
    setting = {"AUTODISCOVER": False, "MONITORS": {"hc": {"BACKEND": "healthchecks", "URL": dripping.url + "/u"}}}
    setting["MONITORS"]["hc"]["TIMEOUT"] = 1
    with override_settings(CRONJOBS=setting):
        Runner({Pinged.code: Pinged}, now=T0).run()
        outcomes = Runner({Pinged.code: Pinged}, now=T0 + timedelta(minutes=1)).run()
    assert [o.status for o in outcomes] == ["succeeded"]
    deadline = time.monotonic() + 60
    while len(dripping.sent) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    # start and end were each given up (the server saw the connection closed mid-drip)
    assert len(dripping.sent) == 2 and dripping.finished == 0


def test_a_stop_while_waiting_still_cuts_the_connection(dripping):
    class Stop(Exception):
        pass

    def stop(signum, frame):
        raise Stop

    def send_the_stop_once_connected():
        if dripping.connected.wait(60):
            # To the main thread: a signal the kernel hands to another thread would leave the
            # main thread asleep in its wait until the wait's own timeout.
            signal.pthread_kill(threading.main_thread().ident, signal.SIGALRM)

    previous = signal.signal(signal.SIGALRM, stop)
    try:
        threading.Thread(target=send_the_stop_once_connected, daemon=True).start()
        with pytest.raises(Stop):
            http.send(dripping.url + "/u", timeout=120, retries=0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert dripping.closed.wait(60) and dripping.finished == 0


def test_a_stop_that_arrives_while_the_request_thread_starts_still_cuts_the_connection(dripping, monkeypatch):
    class Stop(Exception):
        pass

    start = threading.Thread.start

    def start_then_stop(thread):
        start(thread)
        if thread.name == "cronjobs-monitor":  # the signal's handler runs before start() returns
            assert dripping.connected.wait(60)
            raise Stop

    monkeypatch.setattr(threading.Thread, "start", start_then_stop)
    with pytest.raises(Stop):
        http.send(dripping.url + "/u", timeout=120, retries=0)
    monkeypatch.undo()
    assert dripping.closed.wait(60) and dripping.finished == 0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"https://hc-ping.com/{UUID}/start?rid={UUID}", "https://hc-ping.com/***/start?rid=***"),
        (
            f"https://hc-ping.com/{KEY}/reports-nightly/1?create=1&rid=x",
            "https://hc-ping.com/***/reports-nightly/1?create=***&rid=***",
        ),
        (
            "https://cronitor.link/p/0123456789abcdef0123456789abcdef/app-job?state=run",
            "https://cronitor.link/p/***/app-job?state=***",
        ),
        ("https://cronitor.link/p/k3y/app-job", "https://cronitor.link/p/***/app-job"),
        ("https://user:s3cret@hc.example.com/ping/AbCdEf", "https://***@hc.example.com/ping/***"),
        ("http://127.0.0.1:8000/u/fail", "http://127.0.0.1:8000/u/fail"),
    ],
)
def test_keys_uuids_user_info_and_query_values_are_masked(url, shown):
    assert http.safe(url) == shown


def test_a_failed_ping_logs_no_secret(caplog):
    url = f"http://user:pw0rd@127.0.0.1:{free_port()}/{KEY}/nightly?api_key={UUID}"
    with caplog.at_level(logging.WARNING, logger="cronjobs"):
        assert http.send(url, timeout=2, retries=1) is False
    assert "monitor request http://***@127.0.0.1" in caplog.text and "failed (attempt 2)" in caplog.text
    for secret in (KEY, UUID, "pw0rd"):
        assert secret not in caplog.text


def test_an_error_status_logs_no_secret(caplog):
    server = RecordingServer(answers=[404])
    try:
        with caplog.at_level(logging.WARNING, logger="cronjobs"):
            assert http.send(f"{server.url}/{UUID}", timeout=5) is False
    finally:
        server.close()
    assert "status 404" in caplog.text and UUID not in caplog.text
