from django.apps import AppConfig
from django.db.backends.signals import connection_created


def sqlite_pragmas(sender, connection, **kwargs):
    """WAL lets readers and one writer work at once; NORMAL sync is safe in WAL mode."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")


class ShopConfig(AppConfig):
    name = "shop"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        connection_created.connect(sqlite_pragmas)
