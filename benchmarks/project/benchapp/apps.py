from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _sqlite_pragmas(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")


class BenchAppConfig(AppConfig):
    name = "benchmarks.project.benchapp"
    label = "benchapp"

    def ready(self):
        connection_created.connect(_sqlite_pragmas)
