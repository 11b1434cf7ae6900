"""``lock = "database"``: a lease row (owner, expiry) taken with one conditional write.

Taking the lock is ``UPDATE ... SET owner = me WHERE name = N AND (owner = '' OR expires_at < now)``:
the database serialises writers to one row, and the second writer re-reads the row and finds it
taken, on PostgreSQL, MySQL/MariaDB and SQLite alike. The first use of a name inserts its row
(the primary key lets one insert win). A heartbeat moves ``expires_at`` while the job runs; a
holder that died stops renewing, and the lease is free ``lock_ttl`` after its last renewal.

Lock traffic runs in autocommit, outside the job's transaction: the runner takes and releases
the lock around ``transaction.atomic()``, and the heartbeat renews from its own thread, which
has its own connection. Taking, renewing and releasing are plain SQL (they are on the path of
every run of a job with this lock; see :mod:`cronjobs.models.sql`). Expiry is read from the
clock of the host that writes it, so the hosts sharing a database need synchronised clocks
(NTP); a skew shortens or lengthens leases by as much.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, OperationalError, connections, router, transaction
from django.db.models import QuerySet
from django.utils import timezone

from cronjobs.exceptions import LockError
from cronjobs.locks import Lock
from cronjobs.locks.models import Lease
from cronjobs.models.sql import Statements

_statements = Statements(Lease)
_COLUMNS = ("name", "owner", "acquired_at", "expires_at")
#: The statements on the path of every run: take (free, or expired), renew and release (by the owner).
_UPDATES = {
    "take": (
        "UPDATE {table} SET {owner} = %s, {acquired_at} = %s, {expires_at} = %s "
        "WHERE {name} = %s AND ({owner} = '' OR {expires_at} < %s OR {expires_at} IS NULL)"
    ),
    "renew": "UPDATE {table} SET {expires_at} = %s WHERE {name} = %s AND {owner} = %s",
    "release": "UPDATE {table} SET {owner} = '', {expires_at} = NULL WHERE {name} = %s AND {owner} = %s",
}
#: Taking an expired lease never waits for a holder frozen inside its transaction (its job's
#: transaction releases the lock before its COMMIT): PostgreSQL skips a row another transaction
#: holds; MariaDB waits at most a second. Either way the lock counts as held, as it is
#: (:mod:`cronjobs.models.nowait`). MySQL waits ``innodb_lock_wait_timeout``, then the same.
_TAKE_UNHELD = {
    "postgresql": _UPDATES["take"]
    + " AND {name} IN (SELECT {name} FROM {table} WHERE {name} = %s FOR UPDATE SKIP LOCKED)",
    "mariadb": "SET STATEMENT innodb_lock_wait_timeout = 1 FOR " + _UPDATES["take"],
}
#: The error MySQL and MariaDB raise when a lock wait times out.
_LOCK_WAIT_TIMEOUT = 1205


class DatabaseLock(Lock):
    """A lease in the ``cronjobs_lease`` table, renewable, released only by its owner."""

    def __init__(self, name: str, *, ttl: timedelta, owner: str) -> None:
        super().__init__(name, ttl=ttl, owner=owner)
        self.db = router.db_for_write(Lease)
        self.held = False

    def _rows(self) -> QuerySet[Lease]:
        return Lease.objects.using(self.db).filter(name=self.name)

    def acquire(self) -> bool:
        if self.held:
            raise LockError(f"lock {self.name!r} is already held by this object")
        try:
            # The row is inserted only where there is none: an insert beside a row that another
            # transaction holds would wait for that transaction (for a unique key's sake).
            self.held = self._take() or (not self._rows().exists() and (self._insert() or self._take()))
        except DatabaseError as exc:
            raise LockError(f"database lock {self.name!r}: {exc}") from exc
        return self.held

    def _take(self) -> bool:
        now = timezone.now()
        connection = connections[self.db]
        mariadb = connection.vendor == "mysql" and getattr(connection, "mysql_is_mariadb", False)
        flavour = "mariadb" if mariadb else connection.vendor
        key = f"take, {flavour}" if flavour in _TAKE_UNHELD else "take"
        params: list[object] = [self.owner, now, now + self.ttl, self.name, now]
        if flavour == "postgresql":
            params.append(self.name)
        try:
            return self._update(key, *params) == 1
        except OperationalError as exc:
            if exc.args and exc.args[0] == _LOCK_WAIT_TIMEOUT:
                return False  # its holder is committing, or frozen before its COMMIT: held
            raise

    def _insert(self) -> bool:
        now = timezone.now()
        # In autocommit (as runcrons takes locks) a failed insert costs nothing more; inside a
        # caller's transaction a savepoint keeps that transaction usable.
        savepoint = transaction.atomic(using=self.db) if connections[self.db].in_atomic_block else nullcontext()
        try:
            with savepoint:
                Lease.objects.using(self.db).create(
                    name=self.name, owner=self.owner, acquired_at=now, expires_at=now + self.ttl
                )
        except IntegrityError:
            return False  # the row exists: someone inserted it meanwhile; try the update once more
        return True

    def renew(self) -> bool:
        if not self.held:
            return False
        try:
            renewed = self._update("renew", timezone.now() + self.ttl, self.name, self.owner)
        except DatabaseError as exc:
            raise LockError(f"database lock {self.name!r}: {exc}") from exc
        return renewed == 1

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            self._update("release", self.name, self.owner)
        except DatabaseError as exc:
            raise LockError(f"database lock {self.name!r}: {exc}") from exc

    def _update(self, key: str, *params: object) -> int:
        """Run the lease statement ``key`` of :data:`_UPDATES`; returns the number of rows it changed."""
        connection = connections[self.db]
        template = _UPDATES.get(key) or _TAKE_UNHELD[key.split(", ")[1]]
        sql = _statements.sql(
            connection, key, lambda q, table: template.format(table=table, **{c: q(c) for c in _COLUMNS})
        )
        values = [_statements.prep(connection, "expires_at", p) if isinstance(p, datetime) else p for p in params]
        return _statements.execute(connection, sql, values)

    def holder(self) -> str | None:
        row = self._rows().filter(expires_at__gte=timezone.now()).exclude(owner="").values_list("owner").first()
        return row[0] if row else None

    def break_lock(self) -> str | None:
        """Free the lease whoever holds it; the holder's renewals then fail and it stops renewing."""
        try:
            with transaction.atomic(using=self.db):
                holder = self.holder()
                if holder is not None:
                    self._rows().filter(owner=holder).update(owner="", expires_at=None)
        except DatabaseError as exc:
            raise LockError(f"database lock {self.name!r}: {exc}") from exc
        return holder
