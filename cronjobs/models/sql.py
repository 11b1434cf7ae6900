"""Plain SQL for the statements runcrons makes for every due job.

Building a statement through the ORM costs more than running it (about a quarter of a
millisecond each); the querysets use these for the few statements on the per-job path.
Values go through the fields' own ``get_db_prep_value`` (or are passed as they are where that
returns them unchanged on every backend), so every backend stores them exactly as the ORM
would, and every statement runs on the database the router gives for writing the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

#: Per field class: the values its ``get_db_prep_save`` returns unchanged on every backend, which
#: :meth:`Statements.insert` passes as they are (strings, numbers of exactly the field's
#: type, a datetime column's NULL).
_PASSED_THROUGH: dict[type, Callable[[Any], bool]] = {
    models.CharField: lambda value: isinstance(value, str),
    models.TextField: lambda value: isinstance(value, str),
    models.SmallIntegerField: lambda value: type(value) is int,
    models.PositiveIntegerField: lambda value: type(value) is int,
    models.PositiveBigIntegerField: lambda value: type(value) is int,
    models.BooleanField: lambda value: type(value) is bool,
    models.FloatField: lambda value: type(value) is float,
    models.DateTimeField: lambda value: value is None,
}


def _never(value: Any) -> bool:
    return False


def _passed_through(field: models.Field) -> Callable[[Any], bool]:
    if isinstance(field, models.ForeignKey):  # its target field's rule, but never '' (NULL on some backends)
        target = _passed_through(field.target_field)
        return lambda value: value != "" and target(value)
    return _PASSED_THROUGH.get(type(field), _never)


class Statements:
    """The plain statements of one model, built once per database and kept."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self._cache: dict[tuple[str, str], str] = {}
        self._inserted: dict[bool, list[tuple[Any, Callable[[Any], bool]]]] = {}

    def connection(self) -> BaseDatabaseWrapper:
        return connections[router.db_for_write(self.model)]

    def prep(self, connection: BaseDatabaseWrapper, name: str, value: object) -> Any:
        field = self.model._meta.get_field(name)
        assert isinstance(field, models.Field)
        return field.get_db_prep_value(value, connection, prepared=False)

    def insert(
        self, connection: BaseDatabaseWrapper, obj: models.Model, *, with_pk: bool, unless_conflict: bool = False
    ) -> Any:
        """Insert ``obj`` as ``save(force_insert=True)`` would send it, in one plain statement built
        once per database: its concrete fields (the primary key only ``with_pk``), each value
        passed as it is where the field's ``get_db_prep_save`` would not change it. None of the
        fields may have a ``pre_save`` of its own (``auto_now``, say): it is not called.

        ``unless_conflict`` (SQLite, PostgreSQL): ``ON CONFLICT DO NOTHING RETURNING`` the primary
        key; returns it, or None when the row conflicted with one that exists.
        """
        insertable = self._insertable(with_pk)

        def build(q: Callable[[str], str], table: str) -> str:
            sql = (
                f"INSERT INTO {table} ({', '.join(q(field.column) for field, _ in insertable)}) "
                f"VALUES ({', '.join(['%s'] * len(insertable))})"
            )
            if not unless_conflict:
                return sql
            pk = self.model._meta.pk
            assert pk is not None and pk.column is not None
            return f"{sql} ON CONFLICT DO NOTHING RETURNING {q(pk.column)}"

        sql = self.sql(connection, f"insert, pk {with_pk}, unless conflict {unless_conflict}", build)
        params = [
            value if as_it_is(value) else field.get_db_prep_save(value, connection)
            for field, as_it_is in insertable
            for value in (getattr(obj, field.attname),)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if not unless_conflict:
                return None
            inserted = cursor.fetchone()
        return None if inserted is None else inserted[0]

    def _insertable(self, with_pk: bool) -> list[tuple[Any, Callable[[Any], bool]]]:
        found = self._inserted.get(with_pk)
        if found is None:
            fields = [f for f in self.model._meta.concrete_fields if with_pk or not f.primary_key]
            found = self._inserted[with_pk] = [(field, _passed_through(field)) for field in fields]
        return found

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
