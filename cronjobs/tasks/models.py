"""The queue: one row per enqueued task, its result, its attempts, and every change of its state.

Every write to a task row after its enqueue is a method of :class:`QueuedTaskQuerySet`. An
attempt belongs to the worker that claimed it: the writes that end or give back an attempt
are conditional on the row still being ``RUNNING`` under that worker and that attempt, so a
worker presumed dead (and whose attempt was recovered) can no longer write over the attempt
that replaced it.

**Batches.** A worker claims up to ``n`` ready tasks in one statement (:meth:`QueuedTaskQuerySet.claim`)
and runs them one by one in the order they were claimed (:func:`batch_order`: highest priority,
then oldest ``run_after``). The rows of a batch are RUNNING under the worker from the claim on,
each with its attempt counted; the worker runs the first, commits its outcome, then the next.
So the first of a worker's RUNNING rows is the one it runs (or is about to run), the others
wait: a worker that dies loses the first one's attempt (recovered after its lease, as a single
claim's), and the others go back to the queue as they were, their attempt given back, once the
first one's lease has run out (:meth:`QueuedTaskQuerySet.recover_lost`). The worker renews the
lease of its batch as one (:meth:`QueuedTaskQuerySet.renew`) and gives back the rest of it when
it stops (:meth:`QueuedTaskQuerySet.release`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, models, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cronjobs import text, words
from cronjobs.models.nowait import lock_unheld
from cronjobs.models.sql import Statements

logger = logging.getLogger("cronjobs")

#: The columns an attempt's outcome writes (``started_at``: when it really started, after the claim of its batch).
OUTCOME_FIELDS = (
    "status", "run_after", "started_at", "last_attempted_at", "finished_at", "return_value", "errors", "worker_ids",
)  # fmt: skip


def batch_order(row: QueuedTask) -> tuple[Any, ...]:
    """The order a worker runs the tasks of its batch in, and :meth:`~QueuedTaskQuerySet.recover_lost`
    finds the one it ran: the claim's order (highest priority, then oldest ``run_after``); ties by id."""
    return (-row.priority, row.run_after, str(row.pk))


class QueuedTaskQuerySet(models.QuerySet["QueuedTask"]):
    def writable(self) -> QueuedTaskQuerySet:
        return self.using(router.db_for_write(QueuedTask))

    def ready(
        self, now: datetime, aliases: Sequence[str] = (), queues: Sequence[str] | None = None
    ) -> QueuedTaskQuerySet:
        """Ready tasks in the order they are claimed: highest priority, then oldest ``run_after``."""
        rows = self.writable().filter(status=QueuedTask.Status.READY, run_after__lte=now)
        if aliases:
            rows = rows.filter(backend__in=aliases)
        if queues:
            rows = rows.filter(queue_name__in=queues)
        return rows.order_by("-priority", "run_after")

    # -- enqueueing ---------------------------------------------------------------------------

    def insert(self, row: QueuedTask) -> None:
        """Write a new task row, as ``row.save(force_insert=True)`` would (values through the
        fields' own ``get_db_prep_save``) but in plain SQL, built once: it is on the path of every
        enqueue, where building the statement through the ORM cost as much as running it.
        Model signals (``pre_save``, ``post_save``) are not sent; ``task_enqueued`` is."""
        database = router.db_for_write(QueuedTask)
        connection = connections[database]
        _statements.insert(connection, row, with_pk=True)
        row._state.adding, row._state.db = False, database

    # -- an attempt ------------------------------------------------------------------------

    def claim(
        self,
        worker_id: str,
        now: datetime,
        aliases: Sequence[str],
        queues: Sequence[str] | None,
        limit: int = 1,
    ) -> list[QueuedTask]:
        """Take up to ``limit`` ready tasks for ``worker_id``, in :func:`batch_order`: each one's next
        attempt is counted and leased from ``now``; empty when none is ready.

        One statement on SQLite (an ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING``,
        which takes the write lock at once) and on PostgreSQL (the same, around a ``SELECT ...
        FOR UPDATE SKIP LOCKED LIMIT n``); on MySQL/MariaDB ``SELECT ... FOR UPDATE SKIP LOCKED``
        then one update, in the caller's transaction or a short one of its own. Either way the
        query walks the claim index in order and stops after the first ``limit`` ready rows,
        however many tasks wait.
        """
        database = router.db_for_write(QueuedTask)
        connection = connections[database]
        if connection.vendor in ("sqlite", "postgresql"):
            sql, params = _returning_claim(connection, worker_id, now, aliases, queues, limit)
            # On PostgreSQL the plan setting needs a transaction (the caller's, when it has one).
            planned = connection.vendor == "postgresql" and not connection.in_atomic_block
            with transaction.atomic(using=database) if planned else nullcontext():
                plan_claims_by_index(connection)
                rows = list(QueuedTask.objects.using(database).raw(sql, params))
            return sorted(rows, key=batch_order)
        with transaction.atomic(using=database):
            ready = self.ready(now, aliases, queues).select_for_update(
                skip_locked=connection.features.has_select_for_update_skip_locked
            )
            rows = list(ready[:limit])
            if not rows:
                return []
            QueuedTask.objects.using(database).filter(pk__in=[row.pk for row in rows]).update(
                status=QueuedTask.Status.RUNNING, worker_id=worker_id, started_at=now, last_attempted_at=now,
                attempts=F("attempts") + 1,
            )  # fmt: skip
        for row in rows:
            row.status, row.worker_id, row.attempts = QueuedTask.Status.RUNNING, worker_id, row.attempts + 1
            row.started_at = row.last_attempted_at = now
        return sorted(rows, key=batch_order)

    def finish(self, row: QueuedTask, worker_id: str, *, relax_if_untouched: bool = False) -> bool:
        """Write the attempt's outcome (the fields of :data:`OUTCOME_FIELDS` set on ``row``), unless
        the attempt was taken from ``worker_id`` meanwhile; True when written. Plain SQL: once per task.

        ``relax_if_untouched`` (PostgreSQL): if the transaction has written nothing before this
        statement, its commit does not wait for the disk (``synchronous_commit = off`` for it). The
        server decides, in this same statement (a one-time filter, evaluated before any row changes),
        so that a task that wrote nothing costs no extra round trip."""
        database = router.db_for_write(QueuedTask)
        connection = connections[database]
        row.return_value, row.errors = storable_outcome(row.return_value, row.errors)
        fields: list[Any] = [QueuedTask._meta.get_field(name) for name in OUTCOME_FIELDS]
        relax = relax_if_untouched and connection.vendor == "postgresql"
        sql = _statements.sql(
            connection,
            "finish, relaxed if untouched" if relax else "finish",
            lambda q, table: (
                f"UPDATE {table} SET {', '.join(f'{q(field.column)} = %s' for field in fields)}, {q('worker_id')} = %s "
                f"WHERE {q('id')} = %s AND {q('status')} = %s AND {q('worker_id')} = %s AND {q('attempts')} = %s"
                + (_RELAX_IF_UNTOUCHED if relax else "")
            ),
        )
        params = [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
        params += [
            "",
            QueuedTask._meta.pk.get_db_prep_value(row.pk, connection),
            QueuedTask.Status.RUNNING,
            worker_id,
            row.attempts,
        ]
        return _statements.execute(connection, sql, params) > 0

    def release(self, rows: Sequence[QueuedTask], worker_id: str) -> int:
        """Give claimed attempts back, as if they had never been claimed (the worker is stopping):
        one statement for the whole batch; how many were still this worker's."""
        if not rows:
            return 0
        return (
            self.writable()
            .filter(pk__in=[row.pk for row in rows], status=QueuedTask.Status.RUNNING, worker_id=worker_id)
            .update(status=QueuedTask.Status.READY, worker_id="", attempts=F("attempts") - 1)
        )

    def release_worker(self, worker_id: str, *, keep: str | None = None) -> int:
        """Give back every attempt ``worker_id`` still holds (but ``keep``), as :meth:`release` does:
        its supervisor killed it (the worker was stopping, or one task of its batch ran too long)."""
        rows = self.writable().filter(status=QueuedTask.Status.RUNNING, worker_id=worker_id)
        if keep is not None:
            rows = rows.exclude(pk=keep)
        return rows.update(status=QueuedTask.Status.READY, worker_id="", attempts=F("attempts") - 1)

    def renew(self, rows: Sequence[QueuedTask], worker_id: str, now: datetime) -> int:
        """Renew the lease of a claimed batch from ``now``, as one; how many were still this worker's."""
        if not rows:
            return 0
        return (
            self.writable()
            .filter(pk__in=[row.pk for row in rows], status=QueuedTask.Status.RUNNING, worker_id=worker_id)
            .update(last_attempted_at=now)
        )

    def recover_lost(
        self, aliases: Sequence[str], graces: Mapping[str, timedelta], default_grace: timedelta, by: str, now: datetime
    ) -> list[QueuedTask]:
        """Attempts still RUNNING past their timeout and lease grace lost their worker (it died or
        hung): retried while attempts are left, else failed, with a ``WorkerLost`` error."""
        from cronjobs.tasks.exceptions import WorkerLost

        recovered = []
        running = self.writable().filter(status=QueuedTask.Status.RUNNING, backend__in=aliases)
        batches: dict[str, list[QueuedTask]] = {}
        for row in running.only(
            "id", "backend", "task_path", "priority", "run_after", "last_attempted_at", "timeout", "attempts",
            "max_attempts", "worker_id", "worker_ids", "errors",
        ):  # fmt: skip
            batches.setdefault(row.worker_id, []).append(row)
        for batch in batches.values():
            # The first of a worker's batch is the one it runs: its lease is the batch's.
            first, *waiting = sorted(batch, key=batch_order)
            grace = graces.get(first.backend, default_grace)
            expires = (first.last_attempted_at or now) + timedelta(seconds=first.timeout) + grace
            if expires > now:
                continue
            error = {
                "exception_class_path": f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                "traceback": (
                    f"{WorkerLost.__module__}.{WorkerLost.__qualname__}: worker {first.worker_id} did not finish "
                    f"attempt {first.attempts} within its timeout ({first.timeout:g}s) and the lease grace ({grace}); "
                    f"it died or hung. Recovered by {by} at {words.moment(now)}.\n"
                ),
            }
            values: dict[str, Any] = {
                "worker_id": "",
                "errors": [*first.errors, error],
                "worker_ids": [*first.worker_ids, first.worker_id],
            }
            if first.attempts < first.max_attempts:
                values.update(status=QueuedTask.Status.READY, run_after=now)
            else:
                values.update(status=QueuedTask.Status.FAILED, finished_at=now)
            rows = self.writable().filter(
                pk=first.pk, status=QueuedTask.Status.RUNNING, worker_id=first.worker_id, attempts=first.attempts
            )
            with transaction.atomic(using=rows.db):
                # Never wait for a worker frozen inside the task's transaction: a later pass
                # recovers it once that transaction (or its session) has ended.
                if not lock_unheld(rows):
                    continue
                taken = rows.update(**values)
            if taken:
                first.status = values["status"]
                recovered.append(first)
            if waiting:  # never started: back in the queue as they were, in their place
                given_back = self.release(waiting, first.worker_id)
                if given_back:
                    logger.warning(
                        "%d task(s) claimed with %s by worker %s and not started: back in the queue",
                        given_back, first.pk, first.worker_id,
                    )  # fmt: skip
        return recovered

    # -- what people do ----------------------------------------------------------------------

    def retry_failed(self, now: datetime | None = None) -> int:
        """Queue the FAILED tasks of this queryset again, ready now, with one more attempt."""
        return self.filter(status=QueuedTask.Status.FAILED).update(
            status=QueuedTask.Status.READY,
            run_after=now or timezone.now(),
            finished_at=None,
            max_attempts=F("attempts") + 1,
        )

    def retry_waiting(self, now: datetime | None = None) -> int:
        """Make the tasks of this queryset that wait for a retry (READY after a failed attempt,
        ``run_after`` still to come) ready now."""
        now = now or timezone.now()
        return self.filter(status=QueuedTask.Status.READY, attempts__gt=0, run_after__gt=now).update(run_after=now)

    def prune(self, keep: timedelta, *, now: datetime | None = None, limit: int = 10_000) -> int:
        """Delete up to ``limit`` finished tasks older than ``keep``; returns how many."""
        cutoff = (now or timezone.now()) - keep
        finished = self.writable().filter(
            status__in=[QueuedTask.Status.SUCCESSFUL, QueuedTask.Status.FAILED], finished_at__lt=cutoff
        )
        ids = list(finished.values_list("pk", flat=True)[:limit])
        if not ids:
            return 0
        deleted, _ = self.writable().filter(pk__in=ids).delete()
        logger.info("pruned %d finished task(s) older than %s", deleted, keep)
        return deleted


def storable_outcome(return_value: Any, errors: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    """An attempt's return value and errors as every database stores them (see :mod:`cronjobs.text`):
    NUL and lone surrogates in their strings escaped, each traceback cut past
    :data:`~cronjobs.text.TEXT_LIMIT` characters. Unchanged objects when nothing needed a change."""
    stored = [
        error
        if (safe := text.storable(error.get("traceback", ""))) is error.get("traceback", "")
        else {**error, "traceback": safe}
        for error in errors
    ]
    if all(a is b for a, b in zip(stored, errors, strict=True)):
        stored = errors
    return text.storable_json(return_value), text.storable_json(stored)


#: PostgreSQL: a one-time filter that turns synchronous_commit off for a transaction that has no id yet.
_RELAX_IF_UNTOUCHED = (
    " AND (SELECT CASE WHEN pg_current_xact_id_if_assigned() IS NULL"
    " THEN set_config('synchronous_commit', 'off', true) ELSE 'on' END) IS NOT NULL"
)


def plan_claims_by_index(connection: Any) -> None:
    """On PostgreSQL, for the rest of the transaction: claims walk the claim index in order.

    Without fresh statistics (a burst of enqueues the planner has not seen yet), PostgreSQL may
    sort every ready row instead; without bitmap scans, it cannot.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_bitmapscan', 'off', true)")


def _returning_claim(
    connection: Any,
    worker_id: str,
    now: datetime,
    aliases: Sequence[str],
    queues: Sequence[str] | None,
    limit: int = 1,
) -> tuple[str, list[Any]]:
    stamp = connection.ops.adapt_datetimefield_value(now)

    def build(qn: Callable[[str], str], table: str) -> str:
        where = f"{qn('status')} = %s AND {qn('run_after')} <= %s"
        where += f" AND {qn('backend')} IN ({', '.join(['%s'] * len(aliases))})"
        if queues:
            where += f" AND {qn('queue_name')} IN ({', '.join(['%s'] * len(queues))})"
        order = f"ORDER BY {qn('priority')} DESC, {qn('run_after')}"
        pick = f"SELECT {qn('id')} FROM {table} WHERE {where} {order} LIMIT %s"
        assign = (
            f"{qn('status')} = %s, {qn('worker_id')} = %s, {qn('started_at')} = %s, "
            f"{qn('last_attempted_at')} = %s, {qn('attempts')} = {table}.{qn('attempts')} + 1"
        )
        if connection.vendor == "postgresql":
            # Materialized: the locking subquery runs once, never again per row of the update.
            return (
                f"WITH picked AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED) "
                f"UPDATE {table} SET {assign} FROM picked "
                f"WHERE {table}.{qn('id')} = picked.{qn('id')} AND {table}.{qn('status')} = %s RETURNING {table}.*"
            )
        # One statement under SQLite's write lock: the rows it picks are READY. (A second
        # status test here would lead SQLite to scan every READY row instead of the ids.)
        return f"UPDATE {table} SET {assign} WHERE {qn('id')} IN ({pick}) RETURNING *"

    sql = _statements.sql(connection, f"claim {len(aliases)} {len(queues or ())}", build)
    Status = QueuedTask.Status
    picking = [Status.READY, stamp, *aliases, *(queues or []), limit]
    assigning = [Status.RUNNING, worker_id, stamp, stamp]
    if connection.vendor == "postgresql":
        return sql, [*picking, *assigning, Status.READY]
    return sql, [*assigning, *picking]


class QueuedTask(models.Model):
    """A task enqueued through :class:`cronjobs.tasks.DatabaseBackend`, and what became of it."""

    class Status(models.TextChoices):
        READY = "READY", _("ready")
        RUNNING = "RUNNING", _("running")
        FAILED = "FAILED", _("failed")
        SUCCESSFUL = "SUCCESSFUL", _("successful")

    id = models.UUIDField(_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    task_path = models.CharField(_("task"), max_length=255)
    backend = models.CharField(_("backend"), max_length=64)
    queue_name = models.CharField(_("queue"), max_length=64)
    priority = models.SmallIntegerField(_("priority"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.READY)
    args = models.JSONField(_("arguments"), default=list)
    kwargs = models.JSONField(_("keyword arguments"), default=dict)
    run_after = models.DateTimeField(
        _("run after"), help_text=_("Ready from this moment: the requested time, the enqueue time, or a retry's.")
    )
    deferred = models.BooleanField(_("deferred"), default=False, help_text=_("Enqueued with run_after."))
    enqueued_at = models.DateTimeField(_("enqueued"))
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    last_attempted_at = models.DateTimeField(_("last attempted"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    max_attempts = models.PositiveIntegerField(_("max attempts"), default=1)
    timeout = models.FloatField(_("timeout (s)"))
    worker_id = models.CharField(_("worker"), max_length=255, blank=True, help_text=_("Holder of the running attempt."))
    worker_ids = models.JSONField(_("workers"), default=list)
    return_value = models.JSONField(_("return value"), null=True, blank=True)
    errors = models.JSONField(_("errors"), default=list)

    objects = QueuedTaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            # The claim walks this index in order: status = READY, highest priority first,
            # then the oldest run_after; it stops at the first ready row.
            models.Index(fields=["status", "-priority", "run_after"], name="cronjobs_task_claim"),
            models.Index(fields=["status", "finished_at"], name="cronjobs_task_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.task_path} {self.id}: {self.status}"


_statements = Statements(QueuedTask)
