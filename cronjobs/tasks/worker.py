"""Draining the queue: claim one ready task at a time, run it, record what became of it.

A claim is one statement on SQLite (an ``UPDATE ... RETURNING``, which takes the write lock
at once) and on PostgreSQL (the same, around a ``SELECT ... FOR UPDATE SKIP LOCKED``
subquery); on MySQL/MariaDB it is a short transaction with ``SKIP LOCKED``. Either way the
query walks the ``cronjobs_task_claim`` index in order and stops at the first ready row,
however many tasks wait. Each task runs outside the claim, in its own atomic block, under
a timer; its result is written with a condition on the attempt it ran, so a worker that was
presumed dead cannot overwrite the attempt that replaced it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from cronjobs import conf
from cronjobs.exceptions import Interrupted
from cronjobs.tasks.models import QueuedTask

logger = logging.getLogger("cronjobs")

Status = QueuedTask.Status


#: The columns an attempt's outcome writes.
FINISH_FIELDS = ("status", "run_after", "finished_at", "return_value", "errors", "worker_ids")


class TaskTimeout(BaseException):
    """Raised inside a task that ran past its timeout (a BaseException: ``except Exception`` cannot keep it)."""


class WorkerLost(Exception):
    """Recorded for an attempt whose worker stopped answering: it died, or hung past its lease."""


@dataclasses.dataclass
class Drained:
    """What one drain did."""

    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    recovered: int = 0

    @property
    def ran(self) -> int:
        return self.succeeded + self.failed + self.retried

    def add(self, other: Drained) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def summary(self) -> str | None:
        if not (self.ran or self.recovered):
            return None
        line = f"tasks: {self.succeeded} succeeded, {self.failed} failed, {self.retried} to retry"
        if self.recovered:
            line += f", {self.recovered} recovered from lost workers"
        return line


def backend_aliases() -> list[str]:
    """The ``TASKS`` aliases served by :class:`~cronjobs.tasks.DatabaseBackend` (empty: nothing to drain)."""
    configured = getattr(settings, "TASKS", None) or {}
    aliases = []
    for alias, params in configured.items():
        path = params.get("BACKEND", "") if isinstance(params, dict) else ""
        if path in ("cronjobs.tasks.DatabaseBackend", "cronjobs.tasks.backend.DatabaseBackend"):
            aliases.append(alias)
            continue
        try:
            from cronjobs.tasks.backend import DatabaseBackend

            found = import_string(path)
        except ImportError:
            continue
        if isinstance(found, type) and issubclass(found, DatabaseBackend):
            aliases.append(alias)
    return aliases


class QueueDrainer:
    """What runcrons drains between jobs: the ready tasks of every DatabaseBackend (see
    :class:`cronjobs.engine.loop.Drainer`; registered by the app's ``ready()``)."""

    def configured(self) -> bool:
        return bool(backend_aliases())

    def ready(self, queues: list[str] | None) -> bool:
        ready = QueuedTask.objects.filter(status=Status.READY, run_after__lte=timezone.now())
        if queues:
            ready = ready.filter(queue_name__in=queues)
        return ready.exists()

    def tidy(self) -> None:
        keep = conf.get("KEEP_TASK_RESULTS")
        if keep is not None:
            prune(keep)

    def drain(self, *, until: float, queues: list[str] | None) -> Drained:
        return Worker(queues=queues).drain(until=until)

    def worker(self, queues: list[str] | None) -> Worker:
        return Worker(queues=queues)


class Worker:
    """Runs ready tasks of the given backends (default: all DatabaseBackend aliases) and queues."""

    def __init__(self, *, aliases: list[str] | None = None, queues: list[str] | None = None) -> None:
        self.aliases = backend_aliases() if aliases is None else aliases
        self.queues = queues
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.database = router.db_for_write(QueuedTask)
        self._claim_sql: str | None = None
        self._finish_sql: str | None = None
        self._next_recovery = 0.0
        self._pending: list[QueuedTask] = []
        self._relax: str | None = None
        self._sqlite_synchronous = 2

    # -- the loop --------------------------------------------------------------------

    def drain(self, *, until: float | None = None, limit: int | None = None) -> Drained:
        """Run ready tasks until none is ready, ``until`` (a ``time.monotonic()`` value) or ``limit``."""
        drained = Drained()
        if not self.aliases:
            return drained
        with _timer_signal():
            try:
                while until is None or time.monotonic() < until:
                    if time.monotonic() >= self._next_recovery:
                        drained.recovered += self.recover()
                    if limit is not None and drained.ran >= limit:
                        break
                    row = self.claim()
                    if row is None:
                        break
                    outcome = self.run(row)
                    setattr(drained, outcome, getattr(drained, outcome) + 1)
            finally:
                self.flush()
        return drained

    # -- claiming --------------------------------------------------------------------

    def claim(self, now: datetime | None = None) -> QueuedTask | None:
        """Take the next ready task for this worker, or None.

        The outcomes of the tasks run since the last claim are written in the same
        transaction: one commit per task.
        """
        pending, self._pending = self._pending, []
        try:
            with self._bookkeeping(atomic=bool(pending)):
                for row in pending:
                    row._written = self._write(row)  # type: ignore[attr-defined]
                return self._claim(now or timezone.now(), connections[self.database])
        finally:
            self._after(pending)

    def flush(self) -> None:
        """Write the outcomes not written yet."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            with self._bookkeeping(atomic=True):
                for row in pending:
                    row._written = self._write(row)  # type: ignore[attr-defined]
        finally:
            self._after(pending)

    @contextmanager
    def _bookkeeping(self, *, atomic: bool) -> Iterator[None]:
        """Where the worker writes its own records (claims, outcomes).

        On PostgreSQL it is a transaction without bitmap scans (see below).
        Unless ``CRONJOBS["TASKS_DURABLE_BOOKKEEPING"]``, these commits do not wait for the
        disk: ``synchronous_commit = off`` for the transaction on PostgreSQL, ``synchronous =
        NORMAL`` around it on SQLite in WAL mode. Tasks' own transactions are untouched, and
        a crash of the database server can only lose the last of these records: the tasks
        concerned run again, as after a worker's crash.
        """
        connection = connections[self.database]
        relaxed = self._relaxed(connection)
        postgresql = connection.vendor == "postgresql"
        if relaxed == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = NORMAL")
        try:
            if atomic or postgresql:
                with transaction.atomic(using=self.database):
                    if postgresql:
                        # Without fresh statistics (a burst of enqueues the planner has not
                        # seen yet), PostgreSQL may sort every ready row instead of walking
                        # the claim index in order; without bitmap scans, it cannot.
                        relax = ", set_config('synchronous_commit', 'off', true)" if relaxed else ""
                        with connection.cursor() as cursor:
                            cursor.execute(f"SELECT set_config('enable_bitmapscan', 'off', true){relax}")
                    yield
            else:
                yield
        finally:
            if relaxed == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute(f"PRAGMA synchronous = {self._sqlite_synchronous}")

    def _relaxed(self, connection: Any) -> str | None:
        if self._relax is None:
            self._relax = ""
            if not conf.get("TASKS_DURABLE_BOOKKEEPING"):
                if connection.vendor == "postgresql":
                    self._relax = "postgresql"
                elif connection.vendor == "sqlite":
                    with connection.cursor() as cursor:
                        cursor.execute("PRAGMA journal_mode")
                        wal = str(cursor.fetchone()[0]).lower() == "wal"
                        cursor.execute("PRAGMA synchronous")
                        self._sqlite_synchronous = int(cursor.fetchone()[0])
                    if wal and self._sqlite_synchronous > 1:  # FULL or EXTRA; NORMAL needs no change
                        self._relax = "sqlite"
        return self._relax or None

    def _claim(self, now: datetime, connection: Any) -> QueuedTask | None:
        if connection.vendor in ("sqlite", "postgresql"):
            sql, params = self._returning_claim(now)
            rows = list(QueuedTask.objects.using(self.database).raw(sql, params))
            return rows[0] if rows else None
        with transaction.atomic(using=self.database):
            ready = self._ready(now).select_for_update(
                skip_locked=connection.features.has_select_for_update_skip_locked
            )
            row = ready.first()
            if row is None:
                return None
            QueuedTask.objects.using(self.database).filter(pk=row.pk).update(
                status=Status.RUNNING, worker_id=self.worker_id, started_at=now, last_attempted_at=now,
                attempts=row.attempts + 1,
            )  # fmt: skip
        row.status, row.worker_id, row.attempts = Status.RUNNING, self.worker_id, row.attempts + 1
        row.started_at = row.last_attempted_at = now
        return row

    def _ready(self, now: datetime) -> Any:
        ready = QueuedTask.objects.using(self.database).filter(status=Status.READY, run_after__lte=now)
        if self.aliases:
            ready = ready.filter(backend__in=self.aliases)
        if self.queues:
            ready = ready.filter(queue_name__in=self.queues)
        return ready.order_by("-priority", "run_after")

    def _returning_claim(self, now: datetime) -> tuple[str, list[Any]]:
        connection = connections[self.database]
        ops = connection.ops
        stamp = ops.adapt_datetimefield_value(now)
        if self._claim_sql is None:
            qn = ops.quote_name
            table = qn(QueuedTask._meta.db_table)
            where = f"{qn('status')} = %s AND {qn('run_after')} <= %s"
            where += f" AND {qn('backend')} IN ({', '.join(['%s'] * len(self.aliases))})"
            if self.queues:
                where += f" AND {qn('queue_name')} IN ({', '.join(['%s'] * len(self.queues))})"
            lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
            self._claim_sql = (
                f"UPDATE {table} SET {qn('status')} = %s, {qn('worker_id')} = %s, {qn('started_at')} = %s, "
                f"{qn('last_attempted_at')} = %s, {qn('attempts')} = {qn('attempts')} + 1 "
                f"WHERE {qn('id')} = (SELECT {qn('id')} FROM {table} WHERE {where} "
                f"ORDER BY {qn('priority')} DESC, {qn('run_after')} LIMIT 1{lock}) "
                f"AND {qn('status')} = %s RETURNING *"
            )
        params = [Status.RUNNING, self.worker_id, stamp, stamp, Status.READY, stamp, *self.aliases]
        return self._claim_sql, [*params, *(self.queues or []), Status.READY]

    # -- running ---------------------------------------------------------------------

    def run(self, row: QueuedTask) -> str:
        """Run one claimed task; returns ``"succeeded"``, ``"retried"`` or ``"failed"``."""
        from cronjobs.tasks.backend import load_task, to_result
        from cronjobs.tasks_api import TaskContext, task_backends, task_started

        row.worker_ids = [*row.worker_ids, self.worker_id]  # as Django's backends do: context.attempt counts it
        try:
            backend = task_backends[row.backend]
            task = load_task(row.task_path, row.priority, row.queue_name, row.backend)
        except Exception as exc:
            logger.error("task %s (%s) cannot be loaded: %s", row.pk, row.task_path, exc)
            return self._failed(row, exc, retry_in=None)
        policy = backend.policy(task)  # type: ignore[attr-defined]
        result = to_result(row, task)
        task_started.send(type(backend), task_result=result)
        try:
            with _time_limit(row.timeout):
                with transaction.atomic(using=self.database) if policy.atomic else nullcontext():
                    if task.takes_context:
                        value = task.call(TaskContext(task_result=result), *row.args, **row.kwargs)
                    else:
                        value = task.call(*row.args, **row.kwargs)
            value = _json_return(row, value)
        except (KeyboardInterrupt, Interrupted):
            self._release(row)
            raise
        except BaseException as exc:
            if isinstance(exc, TaskTimeout):
                logger.warning("task %s (%s) stopped after its timeout of %ss", row.pk, row.task_path, row.timeout)
            else:
                logger.warning("task %s (%s) failed: %s: %s", row.pk, row.task_path, type(exc).__name__, exc)
            retry_in = policy.delay(row.attempts) if row.attempts < row.max_attempts else None
            return self._failed(row, exc, retry_in=retry_in, backend=backend, task=task)
        row.status, row.finished_at, row.return_value = Status.SUCCESSFUL, timezone.now(), value
        self._record(row, backend, task)
        return "succeeded"

    def _failed(
        self, row: QueuedTask, exc: BaseException, *, retry_in: timedelta | None, backend: Any = None, task: Any = None
    ) -> str:
        now = timezone.now()
        error = {
            "exception_class_path": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "traceback": "".join(traceback.format_exception(exc)),
        }
        row.errors = [*row.errors, error]
        if retry_in is not None:
            row.status, row.run_after = Status.READY, now + retry_in
            self._record(row)
            logger.info(
                "task %s: attempt %d of %d failed, retry in %s", row.pk, row.attempts, row.max_attempts, retry_in
            )
            return "retried"
        row.status, row.finished_at = Status.FAILED, now
        self._record(row, backend, task)
        return "failed"

    def _record(self, row: QueuedTask, backend: Any = None, task: Any = None) -> None:
        """Queue the attempt's outcome (set on ``row``) for the next claim's transaction."""
        row._finished_signal = (backend, task) if backend is not None and task is not None else None  # type: ignore[attr-defined]
        self._pending.append(row)

    def _write(self, row: QueuedTask) -> bool:
        """Write one outcome, unless the attempt was taken from this worker meanwhile."""
        connection = connections[self.database]
        fields: list[Any] = [QueuedTask._meta.get_field(name) for name in FINISH_FIELDS]
        if self._finish_sql is None:
            qn = connection.ops.quote_name
            columns = ", ".join(f"{qn(field.column)} = %s" for field in fields)
            self._finish_sql = (
                f"UPDATE {qn(QueuedTask._meta.db_table)} SET {columns}, {qn('worker_id')} = %s "
                f"WHERE {qn('id')} = %s AND {qn('status')} = %s AND {qn('worker_id')} = %s AND {qn('attempts')} = %s"
            )
        params = [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
        params += [
            "",
            QueuedTask._meta.pk.get_db_prep_value(row.pk, connection),
            Status.RUNNING,
            self.worker_id,
            row.attempts,
        ]
        with connection.cursor() as cursor:
            cursor.execute(self._finish_sql, params)
            return bool(cursor.rowcount)

    def _after(self, rows: list[QueuedTask]) -> None:
        """Once outcomes are committed: warn about the ones not written, send ``task_finished``."""
        from cronjobs.tasks.backend import to_result
        from cronjobs.tasks_api import task_finished

        for row in rows:
            written = getattr(row, "_written", None)
            if written is False:
                logger.warning(
                    "task %s: attempt %d was recovered by another worker before it finished here; "
                    "its outcome (%s) is not recorded",
                    row.pk,
                    row.attempts,
                    row.status,
                )
            elif written and row._finished_signal is not None:  # type: ignore[attr-defined]
                backend, task = row._finished_signal  # type: ignore[attr-defined]
                task_finished.send(type(backend), task_result=to_result(row, task))

    def _release(self, row: QueuedTask) -> None:
        """Stopped by a signal: put the task back as it was before this attempt."""
        QueuedTask.objects.using(self.database).filter(
            pk=row.pk, status=Status.RUNNING, worker_id=self.worker_id, attempts=row.attempts
        ).update(status=Status.READY, worker_id="", attempts=row.attempts - 1)
        logger.warning("task %s: interrupted, back in the queue", row.pk)

    # -- recovering tasks of dead workers ----------------------------------------------

    def recover(self, now: datetime | None = None) -> int:
        """Tasks RUNNING past their timeout and lease grace lost their worker: retry or fail them."""
        from cronjobs.tasks.options import DEFAULTS

        now = now or timezone.now()
        graces = {alias: _grace(alias) for alias in self.aliases}
        self._next_recovery = time.monotonic() + max(
            0.5, min(min(graces.values(), default=DEFAULTS["LEASE_GRACE"]).total_seconds() / 2, 10.0)
        )
        recovered = 0
        running = QueuedTask.objects.using(self.database).filter(status=Status.RUNNING, backend__in=self.aliases)
        for row in running.only(
            "id", "backend", "task_path", "last_attempted_at", "timeout", "attempts", "max_attempts", "worker_id",
            "worker_ids", "errors",
        ):  # fmt: skip
            grace = graces.get(row.backend, DEFAULTS["LEASE_GRACE"])
            expires = (row.last_attempted_at or now) + timedelta(seconds=row.timeout) + grace
            if expires > now:
                continue
            error = {
                "exception_class_path": f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                "traceback": (
                    f"{WorkerLost.__module__}.{WorkerLost.__qualname__}: worker {row.worker_id} did not finish "
                    f"attempt {row.attempts} within its timeout ({row.timeout:g}s) and the lease grace ({grace}); "
                    f"it died or hung. Recovered by {self.worker_id} at {now.isoformat()}.\n"
                ),
            }
            values: dict[str, Any] = {
                "worker_id": "",
                "errors": [*row.errors, error],
                "worker_ids": [*row.worker_ids, row.worker_id],
            }
            if row.attempts < row.max_attempts:
                values.update(status=Status.READY, run_after=now)
            else:
                values.update(status=Status.FAILED, finished_at=now)
            taken = (
                QueuedTask.objects.using(self.database)
                .filter(pk=row.pk, status=Status.RUNNING, worker_id=row.worker_id, attempts=row.attempts)
                .update(**values)
            )
            if taken:
                recovered += 1
                logger.warning(
                    "task %s (%s): worker %s lost it; %s",
                    row.pk,
                    row.task_path,
                    row.worker_id,
                    "retrying" if values["status"] == Status.READY else "failed after its last attempt",
                )
        return recovered


def _grace(alias: str) -> timedelta:
    from cronjobs.tasks.options import DEFAULTS

    params = (getattr(settings, "TASKS", None) or {}).get(alias) or {}
    value = (params.get("OPTIONS") or {}).get("LEASE_GRACE", DEFAULTS["LEASE_GRACE"])
    return value if isinstance(value, timedelta) else DEFAULTS["LEASE_GRACE"]


def _json_return(row: QueuedTask, value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the return value of {row.task_path} cannot be stored as JSON: {exc}") from None


# -- timeouts ----------------------------------------------------------------------------

_armed = threading.local()


@contextmanager
def _timer_signal() -> Iterator[None]:
    """While draining, SIGALRM stops the running task (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        _armed.enabled = False
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise TaskTimeout("stopped: the task ran past its timeout")

    previous = signal.signal(signal.SIGALRM, handler)
    _armed.enabled = True
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _armed.enabled = False


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    if not getattr(_armed, "enabled", False):
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def prune(keep: timedelta, *, now: datetime | None = None, limit: int = 10_000) -> int:
    """Delete up to ``limit`` finished tasks older than ``keep``; returns how many."""
    cutoff = (now or timezone.now()) - keep
    database = router.db_for_write(QueuedTask)
    finished = QueuedTask.objects.using(database).filter(
        status__in=[Status.SUCCESSFUL, Status.FAILED], finished_at__lt=cutoff
    )
    ids = list(finished.values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    deleted, _ = QueuedTask.objects.using(database).filter(pk__in=ids).delete()
    logger.info("pruned %d finished task(s) older than %s", deleted, keep)
    return deleted
