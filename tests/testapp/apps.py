import os

from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        connection_created.connect(_sqlite_pragmas)


def _sqlite_pragmas(sender, connection, **kwargs) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] not in ("", ":memory:"):
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            # The task benchmark sets FULL, SQLite's default, as the peers it is compared with run.
            cursor.execute(f"PRAGMA synchronous={os.environ.get('CRONJOBS_TEST_SQLITE_SYNCHRONOUS', 'NORMAL')}")
