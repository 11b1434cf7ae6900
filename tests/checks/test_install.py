"""System checks of the installcrons settings (cronjobs.E030-E034)."""

from __future__ import annotations

from django.core.checks import Error
from django.test import override_settings

from cronjobs.checks import check_install_settings


def test_the_defaults_pass() -> None:
    assert check_install_settings() == []


def test_good_values_pass() -> None:
    good = {"INSTALL_ID": "shop-prod", "INSTALL_ENV": ["LANG"], "INSTALL_ENV_FILE": "/etc/x", "INSTALL_LOG_FILE": False}
    with override_settings(CRONJOBS=good):
        assert check_install_settings() == []


def test_each_mistake_is_an_error_with_a_hint() -> None:
    bad = {"INSTALL_ID": "a b", "INSTALL_ENV": "LANG", "INSTALL_ENV_FILE": 3, "INSTALL_LOG_FILE": True}
    with override_settings(CRONJOBS=bad):
        assert check_install_settings() == [
            Error(
                "CRONJOBS['INSTALL_ID'] is 'a b'.",
                hint="Use 1 to 100 letters, digits, '.', '_' or '-', e.g. 'shop-production'.",
                id="cronjobs.E030",
            ),
            Error(
                "CRONJOBS['INSTALL_ENV'] must be a list of variable names.",
                hint="E.g. ['LANG', 'PYTHONPATH'].",
                id="cronjobs.E031",
            ),
            Error("CRONJOBS['INSTALL_ENV_FILE'] must be a path or None.", hint="Got 3.", id="cronjobs.E033"),
            Error(
                "CRONJOBS['INSTALL_LOG_FILE'] must be a path, None or False.",
                hint="None: cronjobs.log beside manage.py; False: no log file, cron mails the output.",
                id="cronjobs.E034",
            ),
        ]


def test_a_secret_looking_name_in_the_env_allowlist_is_an_error() -> None:
    with override_settings(CRONJOBS={"INSTALL_ENV": ["LANG", "DJANGO_SECRET_KEY"]}):
        assert check_install_settings() == [
            Error(
                "CRONJOBS['INSTALL_ENV'] names DJANGO_SECRET_KEY, which looks like a secret.",
                hint="The crontab is no place for secrets: put them in the file named by "
                "CRONJOBS['INSTALL_ENV_FILE'], which the entry reads when it runs.",
                id="cronjobs.E032",
            )
        ]
