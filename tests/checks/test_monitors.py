"""System checks of CRONJOBS["MONITORS"] and of the jobs' own ``monitors``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.checks import Error
from django.test.utils import override_settings

from cronjobs.checks import check_monitors
from tests.testapp.jobs import EveryMinute


class BadOverride(EveryMinute):
    code = "test.bad_override"
    monitors = ["hc"]


class OwnMonitor(EveryMinute):
    code = "test.own_monitor"
    monitors = {"mine": {"BACKEND": "cronitor"}}


def run_checks(jobs=(), **monitors):
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": list(jobs), "MONITORS": monitors}):
        return check_monitors()


JOB = "tests.testapp.jobs.EveryMinute"


def test_good_monitors_pass():
    assert (
        run_checks(
            [JOB],
            hc={"BACKEND": "healthchecks", "PING_KEY": "k", "TIMEOUT": 2, "RETRIES": 0},
            cr={"BACKEND": "cronitor", "API_KEY": "a", "ENV": "prod"},
            s={"BACKEND": "sentry", "CHECKIN_MARGIN": timedelta(minutes=1), "RECOVERY_THRESHOLD": 3},
        )
        == []
    )


def test_monitors_must_be_a_dict_of_dicts_e150():
    with override_settings(CRONJOBS={"AUTODISCOVER": False, "MONITORS": ["healthchecks"]}):
        assert [e.id for e in check_monitors()] == ["cronjobs.E150"]


def test_an_unknown_backend_is_e151_once_whatever_the_number_of_jobs():
    errors = run_checks([JOB, "tests.testapp.jobs.Hourly"], x={"BACKEND": "nagios"})
    assert [e.id for e in errors] == ["cronjobs.E151"]
    assert errors[0].msg.startswith("CRONJOBS['MONITORS']['x'] has BACKEND 'nagios', which cannot be used")


def test_missing_and_unknown_options_are_e152():
    assert run_checks([JOB], hc={"BACKEND": "healthchecks", "PINGKEY": "k", "RETRIES": 9}) == [
        Error(
            "CRONJOBS['MONITORS']['hc']: unknown option 'PINGKEY' (accepted: BACKEND, BASE_URL, BODY_LIMIT, "
            "CREATE, EXIT_STATUS, PING_KEY, RETRIES, SLUG, TIMEOUT, URL).",
            hint="See the options of Healthchecks.",
            id="cronjobs.E152",
        ),
        Error(
            "CRONJOBS['MONITORS']['hc']: set 'URL' or 'PING_KEY'.",
            hint="See the options of Healthchecks.",
            id="cronjobs.E152",
        ),
        Error(
            "CRONJOBS['MONITORS']['hc']: RETRIES must be a whole number from 0 to 5, not 9.",
            hint="See the options of Healthchecks.",
            id="cronjobs.E152",
        ),
    ]


def test_a_job_of_its_own_monitor_is_checked_too():
    errors = run_checks(["tests.checks.test_monitors.OwnMonitor"])
    assert [(e.id, e.msg) for e in errors] == [
        ("cronjobs.E152", "test.own_monitor.monitors['mine']: set 'API_KEY'."),
    ]


@pytest.mark.parametrize("value", [timedelta(0), 5])
def test_sentry_durations_must_be_positive_timedeltas(value):
    errors = run_checks([JOB], s={"BACKEND": "sentry", "MAX_RUNTIME": value})
    assert [e.id for e in errors] == ["cronjobs.E152"]
    assert "MAX_RUNTIME must be a positive timedelta" in errors[0].msg


def test_a_job_whose_monitors_is_not_a_dict_is_e153():
    errors = run_checks(["tests.checks.test_monitors.BadOverride"])
    assert [e.id for e in errors] == ["cronjobs.E153"]


def test_a_sentry_monitor_without_sentry_sdk_is_w150(monkeypatch):
    from django.core.checks import Warning

    from cronjobs.monitors import sentry

    monkeypatch.setattr(sentry, "available", lambda: False)
    assert run_checks([JOB], s={"BACKEND": "sentry"}) == [
        Warning(
            "Monitor 's' sends to Sentry, but sentry-sdk is not installed: nothing will be sent.",
            hint="pip install 'cronjobs[sentry]'",
            id="cronjobs.W150",
        )
    ]


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 1e9, 0, -1, True, "2"])
def test_a_timeout_that_is_not_finite_positive_and_at_most_a_minute_is_e152(timeout):
    assert run_checks([JOB], hc={"BACKEND": "healthchecks", "PING_KEY": "k", "TIMEOUT": timeout}) == [
        Error(
            f"CRONJOBS['MONITORS']['hc']: TIMEOUT must be a number of seconds above 0, at most 60, not {timeout!r}.",
            hint="See the options of Healthchecks.",
            id="cronjobs.E152",
        )
    ]


@pytest.mark.parametrize(
    ("option", "url"),
    [
        ("URL", "file:///etc/passwd"),
        ("URL", "gopher://example.com/1"),
        ("BASE_URL", "ftp://example.com"),
        ("URL", "https://"),
        ("URL", "hc-ping.com/uuid"),
    ],
)
def test_a_url_that_is_not_http_or_https_with_a_host_is_e152(option, url):
    assert run_checks([JOB], hc={"BACKEND": "healthchecks", "PING_KEY": "k", option: url}) == [
        Error(
            f"CRONJOBS['MONITORS']['hc']: {option} must be an http:// or https:// URL with a host, not {url!r}.",
            hint="See the options of Healthchecks.",
            id="cronjobs.E152",
        )
    ]


def test_a_cronitor_base_url_is_checked_too():
    errors = run_checks([JOB], cr={"BACKEND": "cronitor", "API_KEY": "a", "BASE_URL": "file:///tmp/x"})
    assert [(e.id, e.msg) for e in errors] == [
        (
            "cronjobs.E152",
            "CRONJOBS['MONITORS']['cr']: BASE_URL must be an http:// or https:// URL with a host, not 'file:///tmp/x'.",
        )
    ]


def test_http_and_https_urls_pass():
    assert (
        run_checks(
            [JOB],
            hc={"BACKEND": "healthchecks", "URL": "https://hc.example.com/ping/u", "TIMEOUT": 60},
            cr={"BACKEND": "cronitor", "API_KEY": "a", "BASE_URL": "HTTP://127.0.0.1:8000"},
        )
        == []
    )


def test_a_bad_url_is_shown_with_its_key_masked():
    url = "hc-ping.com/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"
    [error] = run_checks([JOB], hc={"BACKEND": "healthchecks", "URL": url})
    assert error.msg == (
        "CRONJOBS['MONITORS']['hc']: URL must be an http:// or https:// URL with a host, not 'hc-ping.com/***'."
    )
