"""Before ``migrate``: every ``manage.py cronjobs`` subcommand says so in one line, as runcrons does."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import override_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def unmigrated():
    """cronjobs' tables renamed away for the test, as before ``migrate``."""
    tables = ["cronjobs_run", "cronjobs_job"]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        with override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.Hourly"]}):
            yield
    finally:
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")


@pytest.mark.parametrize("args", [["list"], ["list", "--json"], ["history"], ["history", "test.hourly"]])
def test_list_and_history_before_migrate_are_one_line_with_a_hint(unmigrated, args):
    with pytest.raises(CommandError) as raised:
        call_command("cronjobs", *args, stdout=io.StringIO())
    message = str(raised.value)
    assert message.startswith("database error: ") and "\n" not in message
    assert message.endswith("(have you run `manage.py migrate`?)")
