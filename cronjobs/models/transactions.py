"""How runcrons' own transactions begin on MySQL/MariaDB: ``START TRANSACTION``, not autocommit off.

Django enters an outermost ``atomic()`` on MySQL by turning autocommit off (``SET autocommit =
0``) and leaves it by committing and turning it on again: two round trips besides the commit,
on every transaction. Inside :func:`explicit_begins`, the connection stays in autocommit mode
and a transaction begins with ``START TRANSACTION``, which the ``COMMIT`` or ``ROLLBACK`` ends:
one round trip, and the same transaction (isolation level, locks, savepoints, ``on_commit``
hooks) as Django's. It is how Django itself begins transactions on SQLite
(``_start_transaction_under_autocommit``). The worker uses it around a drain and the runner
around a pass: a task, or a due job, costs one round trip less there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


@contextmanager
def explicit_begins(alias: str) -> Iterator[None]:
    """While inside, outermost ``atomic()`` blocks on MySQL connection ``alias`` (this thread's)
    begin with ``START TRANSACTION``; nothing changes on other databases, or if it already does."""
    connection = connections[alias]
    if connection.vendor != "mysql" or hasattr(connection, "_start_transaction_under_autocommit"):
        yield
        return

    def start() -> None:
        with connection.cursor() as cursor:
            cursor.execute("START TRANSACTION")

    connection._start_transaction_under_autocommit = start  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del connection._start_transaction_under_autocommit  # type: ignore[attr-defined]
