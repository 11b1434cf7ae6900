"""cronjobs' tables on a real server, from inside the test process.

The in-process tests run on SQLite in memory; :func:`routed_to` sends every statement on
cronjobs' models (runs, jobs, locks, tasks) to the database of a ``project`` fixture instead
(PostgreSQL, MariaDB, or a SQLite file), through a connection alias of its own (one per
vendor: statements are cached per alias) and a router, so that a property test can try many
inputs against each server without starting a process for each. The jobs it runs must use
that alias too (their ``database``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.db import connections
from django.test.utils import override_settings

from tests.support.projects import Project

APPS = {"cronjobs", "cronjobs_tasks"}


class Router:
    def __init__(self, alias: str) -> None:
        self.alias = alias

    def db_for_read(self, model: type, **hints: object) -> str | None:
        return self.alias if model._meta.app_label in APPS else None  # type: ignore[attr-defined]

    db_for_write = db_for_read

    def allow_relation(self, obj1: object, obj2: object, **hints: object) -> bool | None:
        return None


@contextlib.contextmanager
def routed_to(project: Project, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """cronjobs' models on ``project``'s database, for the block; yields the alias (``routed_<vendor>``)."""
    from tests import settings

    alias = f"routed_{project.vendor}"
    with monkeypatch.context() as patch:
        patch.setenv("CRONJOBS_TEST_DB_VENDOR", project.vendor)
        patch.setenv("CRONJOBS_TEST_DB_NAME", project.server.name)
        database = settings._database()
    database.pop("TEST", None)
    configured = connections.configure_settings({"default": connections.settings["default"], alias: database})
    connections.settings[alias] = configured[alias]
    try:
        with override_settings(DATABASE_ROUTERS=[Router(alias)]):
            yield alias
    finally:
        with contextlib.suppress(AttributeError):
            connections[alias].close()
            delattr(connections._connections, alias)
        del connections.settings[alias]
