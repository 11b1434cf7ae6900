"""Plain SQL for the statements runcrons makes for every due job.

Building a statement through the ORM costs more than running it (about a quarter of a
millisecond each); the querysets use these for the few statements on the per-job path.
Values go through the fields' own ``get_db_prep_value``, so every backend stores them exactly
as the ORM would, and every statement runs on the database the router gives for writing the
model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper


class Statements:
    """The plain statements of one model, built once per database and kept."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self._cache: dict[tuple[str, str], str] = {}

    def connection(self) -> BaseDatabaseWrapper:
        return connections[router.db_for_write(self.model)]

    def prep(self, connection: BaseDatabaseWrapper, name: str, value: object) -> Any:
        field = self.model._meta.get_field(name)
        assert isinstance(field, models.Field)
        return field.get_db_prep_value(value, connection, prepared=False)

    def sql(self, connection: BaseDatabaseWrapper, key: str, build: Callable[[Callable[[str], str], str], str]) -> str:
        """The statement ``key`` for this connection; ``build(quote, table)`` writes it the first time."""
        cache_key = (connection.alias, key)
        sql = self._cache.get(cache_key)
        if sql is None:
            quote = connection.ops.quote_name
            sql = self._cache[cache_key] = build(quote, quote(self.model._meta.db_table))
        return sql

    def execute(self, connection: BaseDatabaseWrapper, sql: str, params: list[Any]) -> int:
        """Run ``sql``; returns the number of rows it changed."""
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount
