"""System checks of the operating settings: KEEP_RUNS, OUTPUT_LIMIT, MAIL_ADMINS, PING_TIMEOUT, ping_url."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.checks import Error, Warning
from django.test.utils import override_settings

from cronjobs.checks import check_operations
from tests.testapp.jobs import EveryMinute


def run_checks(**cronjobs):
    with override_settings(CRONJOBS={"AUTODISCOVER": False, **cronjobs}):
        return check_operations()


def test_the_defaults_pass():
    assert run_checks() == []


@pytest.mark.parametrize("keep", [None, 10, timedelta(days=7), {"count": 5, "age": timedelta(hours=1)}, {"age": None}])
def test_every_accepted_spelling_of_keep_runs_passes(keep):
    assert run_checks(KEEP_RUNS=keep) == []


def test_a_bad_keep_runs_is_e040():
    assert run_checks(KEEP_RUNS={"count": -1}) == [
        Error(
            "CRONJOBS['KEEP_RUNS'] is invalid: 'count' must be a positive integer or None, not -1.",
            hint="E.g. 1000, timedelta(days=30), {'count': 1000, 'age': timedelta(days=30)}, or None to keep all.",
            id="cronjobs.E040",
        )
    ]


def test_a_bad_output_limit_is_e041():
    assert [e.id for e in run_checks(OUTPUT_LIMIT="64k")] == ["cronjobs.E041"]
    assert run_checks(OUTPUT_LIMIT=0) == []


def test_mail_admins_must_be_a_bool_and_warns_without_admins():
    assert [e.id for e in run_checks(MAIL_ADMINS="yes")] == ["cronjobs.E042"]
    with override_settings(ADMINS=[]):
        assert run_checks(MAIL_ADMINS=True) == [
            Warning(
                "CRONJOBS['MAIL_ADMINS'] is True but settings.ADMINS is empty: no failure mail will be sent.",
                hint="Set ADMINS = [('Name', 'ops@example.com')] (and the EMAIL_* settings).",
                id="cronjobs.W040",
            )
        ]
    with override_settings(ADMINS=[("Ops", "ops@example.com")]):
        assert run_checks(MAIL_ADMINS=True) == []


@pytest.mark.parametrize("timeout", [0, -1, 61, "5", True, float("nan"), float("inf"), 1e9])
def test_a_bad_ping_timeout_is_e043(timeout):
    assert [e.id for e in run_checks(PING_TIMEOUT=timeout)] == ["cronjobs.E043"]


@pytest.mark.parametrize(
    "url", ["hc-ping.com/abc", "ftp://example.com/x", "https://", 42, "file:///etc/passwd", "gopher://example.com/1"]
)
def test_a_ping_url_that_is_not_http_is_e044(url):
    class Pinged(EveryMinute):
        code = "test.pinged"
        ping_url = url

    with override_settings(CRONJOBS={"AUTODISCOVER": False}):
        from cronjobs import registry

        registry.reset()
        registry._discovery = registry.Discovery([Pinged], [])
        try:
            errors = check_operations()
        finally:
            registry.reset()
    assert [(e.id, e.obj) for e in errors] == [("cronjobs.E044", Pinged)]
