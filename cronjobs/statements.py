"""The statements runcrons makes for every due job, as plain SQL.

Building them through the ORM costs more than running them (about a quarter of a
millisecond each); these functions keep the per-job cost of a due job under 1 ms.
Values go through the fields' own ``get_db_prep_value``, so every backend stores them
exactly as the ORM would.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, models

from cronjobs.models import Job, Run


def _prep(model: type[Job] | type[Run], name: str, value: object) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.get_db_prep_value(value, connection, prepared=False)


@cache
def _sql(vendor: str, kind: str) -> str:
    q = connection.ops.quote_name
    if kind == "watermark":
        return (
            f"UPDATE {q(Job._meta.db_table)} SET {q('watermark')} = %s, {q('next_slot')} = %s "
            f"WHERE {q('code')} = %s AND {q('watermark')} = %s"
        )
    return (
        f"UPDATE {q(Run._meta.db_table)} SET {q('status')} = %s, {q('finished_at')} = %s, {q('duration')} = %s, "
        f"{q('message')} = %s, {q('traceback')} = %s, {q('output')} = %s WHERE {q('id')} = %s"
    )


def move_watermark(code: str, expected: datetime, newest: datetime, next_slot: datetime) -> bool:
    """Compare-and-set the job's watermark from ``expected`` to ``newest``; True when this call did."""
    params: list[Any] = [
        _prep(Job, "watermark", newest),
        _prep(Job, "next_slot", next_slot),
        code,
        _prep(Job, "watermark", expected),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection.vendor, "watermark"), params)
        return cursor.rowcount == 1


def finish_run(run: Run) -> None:
    """Record how a run ended: its status, end, duration, message, traceback and output."""
    params: list[Any] = [
        run.status,
        _prep(Run, "finished_at", run.finished_at),
        run.duration,
        run.message,
        run.traceback,
        run.output,
        run.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_sql(connection.vendor, "finish"), params)


def prune_runs(code: str, count: int | None, before: datetime | None) -> int:
    """Delete runs of ``code`` beyond the newest ``count`` or with a slot before ``before``.

    Runs still going are never deleted. The probe for the first run beyond ``count`` walks
    the (job, slot, attempt) index; the DELETE runs only when there is something to delete.
    """
    q = connection.ops.quote_name
    table, slot, attempt = q(Run._meta.db_table), q("slot"), q("attempt")
    conditions: list[str] = []
    params: list[Any] = []
    with connection.cursor() as cursor:
        if count is not None:
            cursor.execute(
                f"SELECT {slot}, {attempt} FROM {table} WHERE {q('job_code')} = %s "
                f"ORDER BY {slot} DESC, {attempt} DESC LIMIT 1 OFFSET %s",
                [code, count],
            )
            first_beyond = cursor.fetchone()
            if first_beyond is not None:  # raw values: passed back exactly as the database gave them
                conditions.append(f"{slot} < %s OR ({slot} = %s AND {attempt} <= %s)")
                params += [first_beyond[0], first_beyond[0], first_beyond[1]]
        if before is not None:
            conditions.append(f"{slot} < %s")
            params.append(_prep(Run, "slot", before))
        if not conditions:
            return 0
        cursor.execute(
            f"DELETE FROM {table} WHERE {q('job_code')} = %s AND {q('status')} <> %s AND ("
            + " OR ".join(f"({c})" for c in conditions)
            + ")",
            [code, Run.Status.RUNNING, *params],
        )
        return cursor.rowcount
