"""Touching another process's rows without waiting for its transaction.

A process frozen inside its transaction (SIGSTOP, a long GC pause, a paused VM, a host cut off
without a TCP reset) keeps the row locks of what it wrote until its database session ends. A
statement of another process that waits for one of them waits as long: for ever on PostgreSQL
(``lock_timeout`` is off by default), ``innodb_lock_wait_timeout`` (50 s) on MySQL/MariaDB and
then fails. Crash recovery waiting there would stall every runner of every host.

So whatever judges another process's rows (crash recovery of runs and tasks, the takeover of
an expired lease) first locks them with :func:`lock_unheld`, which skips what another
transaction holds (``SKIP LOCKED``; ``NOWAIT`` where there is no ``SKIP LOCKED``), and leaves
them for a later pass: once their holder commits, rolls back, or loses its session, they are
judged as usual. What ends the session of a frozen holder is the server's business
(PostgreSQL ``idle_in_transaction_session_timeout`` and TCP keepalives, MySQL ``wait_timeout``;
see :mod:`cronjobs.checks.database`).

On SQLite there are no row locks: a writer holds the whole file, and every other writer waits
for it up to the busy timeout, as it always has.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, connections, transaction
from django.db.models import QuerySet


def lock_unheld(rows: QuerySet[Any]) -> list[Any]:
    """Lock, for the caller's transaction, the rows of ``rows`` that no other transaction holds,
    without waiting; returns their primary keys. Call it inside ``transaction.atomic()``."""
    connection = connections[rows.db]
    features = connection.features
    if not features.has_select_for_update:
        return list(rows.values_list("pk", flat=True))
    if features.has_select_for_update_skip_locked:
        return list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True))
    if features.has_select_for_update_nowait:
        try:
            with transaction.atomic(using=rows.db):  # a savepoint: the caller's transaction stays usable
                return list(rows.select_for_update(nowait=True).values_list("pk", flat=True))
        except DatabaseError:  # held by another transaction (or gone): a later pass looks again
            return []
    return list(rows.select_for_update().values_list("pk", flat=True))
