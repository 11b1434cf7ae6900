"""Draining the queue: claim a ready task, run it, commit its outcome with its work.

**One commit per task.** A task runs in its own ``transaction.atomic()`` (unless its options
say ``atomic=False``). Its outcome (SUCCESSFUL, its return value) is written inside that
transaction as its last statement, conditional on the attempt still being this worker's, and
the next ready task is claimed in the same transaction: the task's work, its record and the
next claim commit together, or not at all. A task that fails rolls back; its outcome (a retry
after the backoff, or FAILED with the traceback) is written after the rollback, with the next
claim. A non-atomic task's outcome is written after it, so such a task is at-least-once.

**Batches.** The worker claims several ready tasks in one statement, runs them one by one in
the claim's order (highest priority, then oldest ``run_after``), and claims the next batch with
the outcome of the last task of the current one. A batch starts with one task and doubles while
its tasks take under ``FAST_TASK`` each, up to ``CRONJOBS["TASKS_BATCH_SIZE"]``; a slow task
brings it back to one, so that slow tasks are shared between workers as before. The lease of
a batch is renewed as one before a task starts when a quarter of the lease grace has passed
since the claim (see :mod:`cronjobs.tasks.models` for what becomes of the batch of a worker
that dies).

**Stopping.** Under runcrons the worker runs in a work horse (:mod:`cronjobs.engine.supervisor`),
which tells its supervisor as each task starts (:attr:`Worker.starting`). SIGTERM (or Ctrl-C)
while a task runs kills the work horse: the server rolls the task's transaction back and the
supervisor gives the task back to the queue as it was (its attempt given back), with the rest
of its batch: every task is either committed once, and recorded so, or back in the queue as it
was. A task past its timeout dies with its work horse the same way, and its attempt is
recorded as timed out (:func:`record_stopped`). A worker whose whole runcrons dies (SIGKILL)
leaves its attempt RUNNING: after the task's timeout and the lease grace another worker
recovers it (retried, or FAILED with ``WorkerLost`` once its attempts are used up), and gives
back the tasks of its batch it had not started. Inline (tests) a timeout stops a task only
between two bytecodes (:mod:`cronjobs.engine.alarm`).

**Durability.** Unless ``CRONJOBS["TASKS_DURABLE_BOOKKEEPING"]``, the worker's own
bookkeeping commits (claims and failure outcomes) do not wait for the disk:
``synchronous_commit = off`` on PostgreSQL, ``synchronous = NORMAL`` on SQLite in WAL mode. A
task's own transaction always waits, unless the task wrote nothing in it (PostgreSQL: no
transaction id assigned; SQLite: no row changed on the connection), so that only the worker's
record is at stake. A crash of the database server can only lose the
last of these records: the tasks concerned run again, as after a worker's crash.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, OperationalError, connections, router, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from cronjobs import conf, identity
from cronjobs.engine import alarm, stops
from cronjobs.exceptions import Interrupted
from cronjobs.tasks.exceptions import LostAttempt, TaskTimeout
from cronjobs.tasks.models import QueuedTask

logger = logging.getLogger("cronjobs")

Status = QueuedTask.Status

#: Why a drain gives back tasks it claimed and did not start when its time (or count) is up.
OUT_OF_BUDGET = "not started: the drain ran out of its budget"
#: A batch grows while its tasks take less than this each (seconds, claim to commit).
FAST_TASK = 0.05


@dataclasses.dataclass
class Drained:
    """What one drain did."""

    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    recovered: int = 0
    lost: int = 0
    """Attempts that another worker recovered while this one ran them (their work rolled back)."""

    @property
    def ran(self) -> int:
        return self.succeeded + self.failed + self.retried + self.lost

    def add(self, other: Drained) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def summary(self) -> str | None:
        if not (self.ran or self.recovered):
            return None
        line = f"tasks: {self.succeeded} succeeded, {self.failed} failed, {self.retried} to retry"
        if self.recovered:
            line += f", {self.recovered} recovered from lost workers"
        if self.lost:
            line += f", {self.lost} lost to another worker (rolled back)"
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
        return QueuedTask.objects.ready(timezone.now(), backend_aliases(), queues).exists()

    def tidy(self) -> None:
        keep = conf.get("KEEP_TASK_RESULTS")
        if keep is not None:
            QueuedTask.objects.prune(keep)

    def worker(self, queues: list[str] | None) -> Worker:
        return Worker(queues=queues)


class Worker:
    """Runs ready tasks of the given backends (default: all DatabaseBackend aliases) and queues."""

    def __init__(self, *, aliases: list[str] | None = None, queues: list[str] | None = None) -> None:
        self.aliases = backend_aliases() if aliases is None else aliases
        self.queues = queues
        self.worker_id = identity.current().owner()
        self.database = router.db_for_write(QueuedTask)
        self._next_recovery = 0.0
        self._held: list[QueuedTask] = []
        """Tasks claimed and not run yet, in the order they run: given back to the queue if the worker stops."""
        self._batch_size = 1
        size = conf.get("TASKS_BATCH_SIZE")
        self._max_batch = size if isinstance(size, int) and size >= 1 else conf.DEFAULTS["TASKS_BATCH_SIZE"]
        self._claimed_at = 0.0
        self._claimed = 0
        self._room: int | None = None
        """How many more tasks the drain may claim (its ``limit``), None: no limit."""
        self._renew_every = max(
            0.05, min((_grace(alias) for alias in self.aliases), default=timedelta(seconds=30)).total_seconds() / 4
        )
        self._relax: str | None = None
        self._sqlite_synchronous = 2
        self.progress = Drained()
        """What the current drain has done so far."""
        self.starting: Callable[[QueuedTask, str], None] | None = None
        """Called as each task starts, in its transaction (a work horse tells its supervisor)."""

    # -- the loop --------------------------------------------------------------------

    def drain(self, *, until: float | None = None, limit: int | None = None) -> Drained:
        """Run ready tasks until none is ready, ``until`` (a ``time.monotonic()`` value) or ``limit``."""
        if not self.aliases:
            return Drained()
        drained = self.progress = Drained()

        def more() -> bool:
            return (until is None or time.monotonic() < until) and (limit is None or drained.ran < limit)

        stopped = False
        try:
            while more():
                stops.check()
                if time.monotonic() >= self._next_recovery:
                    drained.recovered += self.recover()
                self._room = None if limit is None else limit - drained.ran
                if not self._held:
                    self._hold(self.claim_batch())
                    if not self._held:
                        break
                if time.monotonic() - self._claimed_at >= self._renew_every:
                    self._renew()
                    if not self._held:
                        continue
                row = self._held[0]
                self._room = None if limit is None else limit - drained.ran - 1
                claim_next = more() and len(self._held) == 1 and self._room != 0
                outcome = self.run(row, claim_next=claim_next)
                setattr(drained, outcome, getattr(drained, outcome) + 1)
                if claim_next and not self._held and outcome != "lost":
                    break  # the claim made with the outcome found the queue empty
        except BaseException:
            stopped = True
            raise
        finally:
            if self._held:  # claimed and not run (stopped, or out of time): back to the queue
                self._release(self._held, "interrupted" if stopped else OUT_OF_BUDGET)
                self._held = []
        return drained

    # -- claiming --------------------------------------------------------------------

    def claim(self, now: datetime | None = None) -> QueuedTask | None:
        """Take the next ready task for this worker, or None (a bookkeeping transaction of its own)."""
        with self._bookkeeping():
            rows = QueuedTask.objects.claim(self.worker_id, now or timezone.now(), self.aliases, self.queues)
        return rows[0] if rows else None

    def claim_batch(self, now: datetime | None = None) -> list[QueuedTask]:
        """Take the next batch of ready tasks for this worker (a bookkeeping transaction of its own)."""
        with self._bookkeeping():
            return self._claim(now)

    def _claim(self, now: datetime | None = None) -> list[QueuedTask]:
        size = self._next_batch_size()
        return QueuedTask.objects.claim(self.worker_id, now or timezone.now(), self.aliases, self.queues, size)

    def _next_batch_size(self) -> int:
        """Twice the last batch while its tasks were fast (at most TASKS_BATCH_SIZE); else one."""
        if self._claimed:
            fast = (time.monotonic() - self._claimed_at) / self._claimed < FAST_TASK
            self._batch_size = min(self._batch_size * 2, self._max_batch) if fast else 1
        size = self._batch_size
        return size if self._room is None else max(1, min(size, self._room))

    def _hold(self, rows: list[QueuedTask] | None) -> None:
        """A newly claimed batch (a no-op for None: the outcome claimed nothing)."""
        if rows is None:
            return
        self._held = rows
        self._claimed_at = time.monotonic()
        self._claimed = len(rows)

    def _renew(self) -> None:
        """Renew the lease of the held batch as one; a task taken meanwhile (recovered) is dropped."""
        with self._bookkeeping():
            renewed = QueuedTask.objects.renew(self._held, self.worker_id, timezone.now())
        self._claimed_at = time.monotonic()
        self._claimed = 0  # the batch's pace is unknown from here on: the next one keeps its size
        if renewed < len(self._held):
            # Some were recovered by another worker (which ones is unknown): give back the rest.
            logger.warning("%d claimed task(s) were recovered by another worker", len(self._held) - renewed)
            self._release(self._held)
            self._held = []

    @contextmanager
    def _bookkeeping(self) -> Iterator[None]:
        """A transaction for the worker's own records (claims, failure outcomes); see the module's doc."""
        connection = connections[self.database]
        relaxed = self._relaxed(connection)
        if relaxed == "sqlite":
            _pragma(connection, "synchronous = NORMAL")
        try:
            with transaction.atomic(using=self.database):
                if relaxed == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit = off")
                yield
        finally:
            if relaxed == "sqlite":
                _pragma(connection, f"synchronous = {self._sqlite_synchronous}")

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

    # -- running ---------------------------------------------------------------------

    def run(self, row: QueuedTask, *, claim_next: bool = False) -> str:
        """Run one claimed task and commit its outcome, and with it the next claim when ``claim_next``.

        Returns ``"succeeded"``, ``"retried"``, ``"failed"`` or ``"lost"``. The next claimed task,
        if any, is held (``_held``) from the moment its claim commits: whatever stops the worker
        then, :meth:`drain` gives it back. A signal that stops the worker anywhere in here, even
        while a failure is being recorded, gives this task back unless its outcome is written.
        """
        try:
            if self._held and self._held[0] is row:
                del self._held[0]  # from here on this attempt is recorded, or given back below
            return self._run(row, claim_next)
        except (KeyboardInterrupt, Interrupted):
            self._release([row])  # a no-op once its outcome is written
            raise

    def _run(self, row: QueuedTask, claim_next: bool) -> str:
        from cronjobs.tasks.backend import load_task, to_result
        from cronjobs.tasks_api import TaskContext, task_backends, task_started

        backend = task = policy = None
        try:
            stops.check()
            row.worker_ids = [*row.worker_ids, self.worker_id]  # as Django's backends do: context.attempt counts it
            row.started_at = row.last_attempted_at = timezone.now()  # not its batch's claim; written with the outcome
            try:
                backend = task_backends[row.backend]
                task = load_task(row.task_path, row.priority, row.queue_name, row.backend)
            except Exception as exc:
                logger.error("task %s (%s) cannot be loaded: %s", row.pk, row.task_path, exc)
                return self._failed(row, exc, retry_in=None, claim_next=claim_next)
            policy = backend.policy(task)  # type: ignore[attr-defined]
            result = to_result(row, task)
            task_started.send(type(backend), task_result=result)
            # Relaxed bookkeeping: a task's transaction that writes nothing does not wait for the
            # disk. SQLite: the connection's count of changed rows stays the same (its outcome is
            # then written after it, as bookkeeping); PostgreSQL: the outcome's statement decides.
            relaxed = self._relaxed(connections[self.database]) if policy.atomic else None
            with transaction.atomic(using=self.database) if policy.atomic else nullcontext():
                changes = connections[self.database].connection.total_changes if relaxed == "sqlite" else None
                if self.starting is not None:
                    self.starting(row, self.worker_id)  # the supervisor keeps the task's timeout
                timeout = TaskTimeout("stopped: the task ran past its timeout")
                with alarm.deadline(row.timeout if self.starting is None else None, timeout):
                    if task.takes_context:
                        value = task.call(TaskContext(task_result=result), *row.args, **row.kwargs)
                    else:
                        value = task.call(*row.args, **row.kwargs)
                row.status, row.finished_at, row.return_value = Status.SUCCESSFUL, timezone.now(), _json(row, value)
                if policy.atomic:
                    if changes is not None and connections[self.database].connection.total_changes == changes:
                        raise _WriteAfter  # SQLite: nothing of the task's to keep
                    following = self._commit(row, claim_next, relax=relaxed == "postgresql")
            if not policy.atomic:
                with self._bookkeeping():
                    following = self._commit(row, claim_next)
            self._hold(following)
        except (KeyboardInterrupt, Interrupted):
            raise  # run() gives the task back
        except LostAttempt:
            return self._lost(row, kept=bool(policy and not policy.atomic))
        except _WriteAfter:  # SQLite: the task only read (nothing to lose), or could not become a writer
            if not self._commit_on_its_own(row, claim_next):
                return self._lost(row, kept=False)
        except BaseException as exc:
            if isinstance(exc, TaskTimeout):
                logger.warning("task %s (%s) stopped after its timeout of %ss", row.pk, row.task_path, row.timeout)
            else:
                logger.warning("task %s (%s) failed: %s: %s", row.pk, row.task_path, type(exc).__name__, exc)
            retry_in = policy.delay(row.attempts) if policy is not None and row.attempts < row.max_attempts else None
            return self._failed(row, exc, retry_in=retry_in, claim_next=claim_next, backend=backend, task=task)
        self._finished(row, backend, task)
        return "succeeded"

    def _commit_on_its_own(self, row: QueuedTask, claim_next: bool) -> bool:
        """Commit the attempt's outcome (and the next claim) in a bookkeeping transaction of its
        own, after the task's; False when the attempt was taken from this worker meanwhile."""
        try:
            with self._bookkeeping():
                following = self._commit(row, claim_next)
            self._hold(following)  # once its claim has committed
        except LostAttempt:
            return False
        return True

    def _lost(self, row: QueuedTask, *, kept: bool) -> str:
        logger.warning(
            "task %s: attempt %d was recovered by another worker before it finished here; its outcome is "
            "not recorded%s",
            row.pk,
            row.attempts,
            " (not atomic: its work stays)" if kept else " and its work was rolled back",
        )
        return "lost"

    def _commit(self, row: QueuedTask, claim_next: bool, *, relax: bool = False) -> list[QueuedTask] | None:
        """Inside the transaction that commits the attempt: its outcome, then the next claim."""
        try:
            written = QueuedTask.objects.finish(row, self.worker_id, relax_if_untouched=relax)
        except OperationalError as exc:
            # On SQLite a transaction that has written holds the write lock until it ends, so its
            # outcome cannot find the database locked: "locked" means the task wrote nothing.
            if connections[self.database].vendor == "sqlite" and "locked" in str(exc):
                raise _WriteAfter from exc
            raise
        if not written:
            raise LostAttempt(f"task {row.pk} attempt {row.attempts}")
        if not claim_next:
            return None
        try:
            with transaction.atomic(using=self.database):  # a savepoint: a failed claim keeps the outcome
                return self._claim()
        except DatabaseError:
            logger.info("could not claim the next task with the outcome of %s; claiming on its own", row.pk)
            return None

    def _failed(
        self,
        row: QueuedTask,
        exc: BaseException,
        *,
        retry_in: timedelta | None,
        claim_next: bool,
        backend: Any = None,
        task: Any = None,
    ) -> str:
        now = timezone.now()
        error = {
            "exception_class_path": f"{type(exc).__module__}.{type(exc).__qualname__}",
            "traceback": "".join(traceback.format_exception(exc)),
        }
        row.errors, row.return_value = [*row.errors, error], None  # a failed attempt returned nothing
        if retry_in is not None:
            row.status, row.run_after = Status.READY, now + retry_in
        else:
            row.status, row.finished_at = Status.FAILED, now
        if not self._commit_on_its_own(row, claim_next):
            logger.warning("task %s: attempt %d was recovered by another worker meanwhile", row.pk, row.attempts)
            return "lost"
        if retry_in is not None:
            logger.info(
                "task %s: attempt %d of %d failed, retry in %s", row.pk, row.attempts, row.max_attempts, retry_in
            )
            return "retried"
        logger.warning("task %s (%s) failed for good after %d attempt(s)", row.pk, row.task_path, row.attempts)
        self._finished(row, backend, task, exc)
        return "failed"

    def _finished(self, row: QueuedTask, backend: Any, task: Any, exc: BaseException | None = None) -> None:
        """Once the outcome is committed: ``task_finished`` (for a failure, sent while handling it)."""
        if backend is None or task is None:
            return
        from cronjobs.tasks.backend import to_result
        from cronjobs.tasks_api import task_finished

        result = to_result(row, task)
        if exc is None:
            task_finished.send(type(backend), task_result=result)
            return
        # The Tasks framework's own receiver logs a failed task with logger.exception(): sent
        # from inside an except block, it logs this traceback instead of "NoneType: None".
        try:
            raise exc
        except BaseException:
            task_finished.send(type(backend), task_result=result)

    def _release(self, rows: list[QueuedTask], why: str = "interrupted") -> None:
        """Stopped by a signal (or out of budget: ``why`` says which): put the tasks back as they
        were before this attempt, in one statement (never raises: the worker is stopping; a task
        it could not give back is recovered after its lease)."""
        for attempt in (1, 2):
            try:
                released = QueuedTask.objects.release(rows, self.worker_id)
            except DatabaseError:
                if attempt == 2:
                    logger.exception("%d task(s): could not put them back in the queue; their lease will", len(rows))
                    return
                connections[self.database].close()  # a connection broken by the stop: try a new one
                continue
            level = logging.INFO if why == OUT_OF_BUDGET else logging.WARNING  # a budget running out is routine
            if released == 1 and len(rows) == 1:
                logger.log(level, "task %s: %s, back in the queue", rows[0].pk, why)
            elif released:
                logger.log(level, "%d claimed task(s) not run (%s): back in the queue", released, why)
            return

    # -- recovering tasks of dead workers ----------------------------------------------

    def recover_if_due(self) -> Drained:
        """Recover lost tasks if it is time to look again (what a drain does first): a supervisor
        does this itself when no task is ready, instead of starting a work horse to find none."""
        if not self.aliases or time.monotonic() < self._next_recovery:
            return Drained()
        return Drained(recovered=self.recover())

    def recover(self, now: datetime | None = None) -> int:
        """Tasks RUNNING past their timeout and lease grace lost their worker: retry or fail them."""
        from cronjobs.tasks.options import DEFAULTS

        now = now or timezone.now()
        graces = {alias: _grace(alias) for alias in self.aliases}
        default = DEFAULTS["LEASE_GRACE"]
        self._next_recovery = time.monotonic() + max(
            0.5, min(min(graces.values(), default=default).total_seconds() / 2, 10.0)
        )
        recovered = QueuedTask.objects.recover_lost(self.aliases, graces, default, self.worker_id, now)
        for row in recovered:
            logger.warning(
                "task %s (%s): worker %s lost it; %s",
                row.pk,
                row.task_path,
                row.worker_id,
                "retrying" if row.status == Status.READY else "failed after its last attempt",
            )
        return len(recovered)


class _WriteAfter(Exception):
    """SQLite: the task's transaction wrote nothing (or could not become a writer): its outcome is
    written after it, in a transaction of the worker's own."""


def record_stopped(task_id: str, attempt: int, worker_id: str, why: str, *, timed_out: bool) -> str:
    """The attempt ``attempt`` of task ``task_id``, run by ``worker_id`` in a work horse that its
    supervisor killed (``timed_out``: past the task's timeout) or that died: its outcome, as for
    any failed attempt (retried while attempts are left), written only while the attempt is still
    that worker's; the other tasks of its batch go back to the queue. Returns what became of it:
    ``"retried"``, ``"failed"`` or ``"lost"``."""
    from cronjobs.tasks.backend import load_task
    from cronjobs.tasks.exceptions import WorkerLost
    from cronjobs.tasks_api import task_backends

    given = QueuedTask.objects.release_worker(worker_id, keep=task_id)
    if given:
        logger.info("%d claimed task(s) not run (their worker was stopped): back in the queue", given)
    row = QueuedTask.objects.writable().filter(pk=task_id, attempts=attempt, worker_id=worker_id).first()
    if row is None or row.status != Status.RUNNING:
        return "lost"
    worker = Worker(aliases=[row.backend])
    worker.worker_id = worker_id  # the outcome is written as that worker's attempt
    exc: BaseException = TaskTimeout(why) if timed_out else WorkerLost(why)
    backend = task = policy = None
    try:
        backend = task_backends[row.backend]
        task = load_task(row.task_path, row.priority, row.queue_name, row.backend)
        policy = backend.policy(task)  # type: ignore[attr-defined]
    except Exception:
        logger.warning("task %s (%s) cannot be loaded to record its stopped attempt", row.pk, row.task_path)
    row.started_at = row.last_attempted_at
    retry_in = policy.delay(row.attempts) if policy is not None and row.attempts < row.max_attempts else None
    try:
        raise exc
    except BaseException as raised:  # with its traceback, as a task's own failure is recorded
        return worker._failed(row, raised, retry_in=retry_in, claim_next=False, backend=backend, task=task)


def _pragma(connection: Any, setting: str) -> None:
    """Set a PRAGMA of the SQLite connection on the driver's connection directly: twice per task
    with relaxed bookkeeping, where Django's cursor costs more than the statement."""
    connection.ensure_connection()
    with connection.wrap_database_errors:
        connection.connection.execute(f"PRAGMA {setting}")


def _grace(alias: str) -> timedelta:
    from cronjobs.tasks.options import DEFAULTS

    params = (getattr(settings, "TASKS", None) or {}).get(alias) or {}
    value = (params.get("OPTIONS") or {}).get("LEASE_GRACE", DEFAULTS["LEASE_GRACE"])
    return value if isinstance(value, timedelta) else DEFAULTS["LEASE_GRACE"]


def _json(row: QueuedTask, value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the return value of {row.task_path} cannot be stored as JSON: {exc}") from None


def prune(keep: timedelta, *, now: datetime | None = None, limit: int = 10_000) -> int:
    """Delete up to ``limit`` finished tasks older than ``keep``; returns how many."""
    return QueuedTask.objects.prune(keep, now=now, limit=limit)
