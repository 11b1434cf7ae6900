"""Failure mail on every supported Django: ADMINS as addresses or as (name, address) pairs, MAILERS or not.

Warnings are errors in this suite: these tests also prove that no form warns (Django 6.1 warns
about ADMINS pairs passed to its own ``mail_admins``, which cronjobs therefore does not call).
"""

from __future__ import annotations

import django
import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from cronjobs.ops import notices
from tests.testapp.jobs import Flaky

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "admins",
    [
        ["ops@example.com", "oncall@example.com"],
        [("Ops", "ops@example.com"), ("On call", "oncall@example.com")],
        (("Ops", "ops@example.com"), "oncall@example.com"),
    ],
    ids=["addresses", "pairs", "mixed"],
)
def test_admins_as_addresses_or_as_pairs_get_the_mail(settings, mailoutbox, admins):
    settings.ADMINS = admins
    settings.SERVER_EMAIL = "cron@example.com"
    settings.EMAIL_SUBJECT_PREFIX = "[shop] "
    notices.mail_admins("cron job x failed", "body")
    (mail,) = mailoutbox
    assert (mail.subject, mail.body, mail.from_email) == ("[shop] cron job x failed", "body", "cron@example.com")
    assert mail.to == ["ops@example.com", "oncall@example.com"]


def test_without_admins_nothing_is_sent(settings, mailoutbox):
    settings.ADMINS = []
    notices.mail_admins("cron job x failed", "body")
    assert mailoutbox == []


@pytest.mark.skipif(django.VERSION < (6, 1), reason="MAILERS comes with Django 6.1")
def test_on_django_6_1_the_mail_goes_through_the_default_mailer(settings):
    from django.core import mail

    settings.ADMINS = ["ops@example.com"]
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    notices.mail_admins("cron job x failed", "body")
    assert [m.to for m in mail.outbox] == [["ops@example.com"]]


@override_settings(
    CRONJOBS={"AUTODISCOVER": False, "MAIL_ADMINS": True, "JOBS": ["tests.testapp.jobs.Flaky"]},
    ADMINS=["ops@example.com"],
)
def test_a_failing_job_mails_the_admins_given_as_addresses(mailoutbox):
    Flaky.failing = True
    with pytest.raises(CommandError):
        call_command("runcrons", "--force", "-v0")
    assert [(m.subject, m.to) for m in mailoutbox] == [("[Django] cron job test.flaky failed", ["ops@example.com"])]
    assert "RuntimeError: flaky is failing" in mailoutbox[0].body
