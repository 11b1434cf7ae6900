"""Runs: one row per run of a job, or per slot it did not run, and every change of their state.

A run is ``running`` from its claim until it is finished. A job with ``task_backend`` only
enqueues its work: its run is then ``handed_off`` (no lease: no process of ours holds it) until
the backend's result is final, and :meth:`RunQuerySet.settle` records that result. Every write after the claim is
conditional on the run still being ``running`` and on the claim's ``token``, so a record never
overwrites a newer verdict: a process that was frozen or cut off while another declared its
run crashed can no longer finish it. Inside a job's transaction, that conditional update is
the fence that keeps the job's work from committing (see :mod:`cronjobs.engine.execution`).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import DataError, IntegrityError, connections, models, router, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cronjobs import identity, text
from cronjobs.models.jobs import Job
from cronjobs.models.nowait import lock_unheld
from cronjobs.models.sql import Statements

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from cronjobs.identity import ProcessIdentity

logger = logging.getLogger("cronjobs")
T = TypeVar("T")


#: The columns :meth:`RunQuerySet.finish` writes.
_FINISH = ("status", "finished_at", "duration", "message", "traceback", "output")


@dataclasses.dataclass(frozen=True)
class RunTexts:
    """The texts of a run's record: what its job returned, raised, printed and logged.

    :meth:`write` stores them whatever their characters (see :mod:`cronjobs.text`): NUL and lone
    surrogates escaped, the message and the traceback cut past :data:`~cronjobs.text.TEXT_LIMIT`
    characters (the output is cut where it is captured, past ``CRONJOBS["OUTPUT_LIMIT"]``).
    Should the database still refuse them (a MySQL table in ``utf8mb3`` and a character beyond
    the BMP, say), they are written again in ASCII, shortened, with a note: the record is
    written, never left ``running``.
    """

    message: str
    traceback: str
    output: str

    def storable(self) -> RunTexts:
        return RunTexts(
            text.storable(self.message),
            text.storable(self.traceback),
            text.storable(self.output, None),  # bounded where it is captured (OUTPUT_LIMIT)
        )

    def in_ascii(self, refused: Exception) -> RunTexts:
        reason = text.ascii_only(" ".join(str(refused).split()), 300)
        note = f"[stored in ASCII and shortened: the database refused the text as it was ({reason})]"
        message = text.ascii_only(self.message, ASCII_LIMIT)
        return RunTexts(
            f"{message} {note}" if message else note,
            text.ascii_only(self.traceback, ASCII_LIMIT),
            text.ascii_only(self.output, ASCII_LIMIT),
        )

    def write(self, write: Callable[[RunTexts], T], database: str | BaseDatabaseWrapper) -> T:
        """``write(texts)`` with these texts made storable; again in ASCII if the database
        refuses them, unless that cannot be tried (PostgreSQL inside a transaction, which the
        error aborted: the caller's failure path records the run after the rollback)."""
        texts = self.storable()
        try:
            return write(texts)
        except DataError as exc:
            connection = connections[database] if isinstance(database, str) else database
            if connection.vendor == "postgresql" and connection.in_atomic_block:
                raise
            logger.warning("the database refused the text of a run's record; writing it in ASCII: %s", exc)
            return write(texts.in_ascii(exc))


#: Characters of each text of a record written again in ASCII (:meth:`RunTexts.in_ascii`).
ASCII_LIMIT = 10_000


class RunQuerySet(models.QuerySet["Run"]):
    """Claims, records, leases and retention of runs."""

    def writable(self) -> RunQuerySet:
        """On the database the router gives for writing runs."""
        return self.using(router.db_for_write(Run))

    # -- claims --------------------------------------------------------------------------

    def claim(self, code: str, slot: datetime, attempt: int, *, lease: timedelta, forced: bool = False) -> Run | None:
        """Insert the row that claims (job, slot, attempt) for this process; None when another has it.

        The unique (job, slot, attempt) key decides. On SQLite and PostgreSQL one plain
        ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (it is on the path of every run: no
        savepoint, no ORM); elsewhere the insert has its own savepoint. Either way a
        transaction of the caller's stays usable when it loses.
        """
        run = Run.new(code, slot, attempt, forced=forced, lease=lease)
        connection = _statements.connection()
        if connection.vendor in ("sqlite", "postgresql"):
            inserted = _statements.insert(connection, run, with_pk=False, unless_conflict=True)
            if inserted is None:
                return None
            run.pk = inserted
            run._state.adding, run._state.db = False, connection.alias
            return run
        database = router.db_for_write(Run)
        try:
            with transaction.atomic(using=database):
                run.save(force_insert=True, using=database)
        except IntegrityError:
            return None
        return run

    def record_missed(self, code: str, slots: Sequence[datetime], *, note: str = "") -> list[Run]:
        """Records of slots that were not run (catch-up policy); ``note`` goes on the oldest."""
        missed = [Run.new(code, slot, 1, status=Run.Status.MISSED) for slot in slots]
        if missed:
            missed[0].message = text.storable(note)
            self.writable().bulk_create(missed, ignore_conflicts=True)
        return missed

    def still_ours(self, run: Run, lease: timedelta) -> bool:
        """Renew the lease of a claimed run about to start; False when it is no longer this process's."""
        now = timezone.now()
        return bool(
            self.writable()
            .filter(pk=run.pk, status=Run.Status.RUNNING, token=run.token)
            .update(lease_until=now + lease)
        )

    # -- the end of a run ------------------------------------------------------------------

    def finish(
        self,
        run: Run,
        status: str,
        *,
        duration: float,
        message: str = "",
        traceback: str = "",
        output: str = "",
    ) -> bool:
        """Record how ``run`` ended, if it is still this process's; True when it was recorded.

        Conditional on the run being ``running`` with this claim's token: after another process
        declared it crashed, nothing is written. Inside the job's transaction, as its last
        statement, a False here means the job's work must not commit. Plain SQL: it is on the
        path of every run. The texts are stored as :class:`RunTexts` says, whatever their
        characters. Sets the fields on ``run`` too, as stored.
        """
        run.status, run.finished_at, run.duration = status, timezone.now(), duration
        connection = _statements.connection()
        sql = _statements.sql(
            connection,
            "finish",
            lambda q, table: (
                f"UPDATE {table} SET {', '.join(f'{q(c)} = %s' for c in _FINISH)} "
                f"WHERE {q('id')} = %s AND {q('status')} = %s AND {q('token')} = %s"
            ),
        )

        def write(texts: RunTexts) -> bool:
            run.message, run.traceback, run.output = texts.message, texts.traceback, texts.output
            params = [
                status,
                _statements.prep(connection, "finished_at", run.finished_at),
                duration,
                texts.message,
                texts.traceback,
                texts.output,
                run.pk,
                Run.Status.RUNNING,
                run.token,
            ]
            return _statements.execute(connection, sql, params) == 1

        return RunTexts(message, traceback, output).write(write, connection)

    def record_late_end(self, run: Run, note: str, *, duration: float, traceback: str = "", output: str = "") -> str:
        """``run`` ended here after another process had recorded a verdict (crashed): keep that
        verdict, add ``note`` to its message, and fill in what it lacks. Returns the run's status."""
        rows = self.writable().filter(pk=run.pk, token=run.token).exclude(status=Run.Status.RUNNING)

        def write(texts: RunTexts) -> int:
            return rows.update(
                message=Concat(F("message"), Value(f"; {texts.message}"), output_field=models.TextField()),
                duration=Case(
                    When(duration__isnull=True, then=Value(duration)),
                    default=F("duration"),
                    output_field=models.FloatField(),
                ),
                traceback=Case(
                    When(traceback="", then=Value(texts.traceback)),
                    default=F("traceback"),
                    output_field=models.TextField(),
                ),
                output=Case(
                    When(output="", then=Value(texts.output)), default=F("output"), output_field=models.TextField()
                ),
            )

        RunTexts(note, traceback, output).write(write, rows.db)
        found = self.writable().filter(pk=run.pk).values_list("status", "message").first()
        if found is not None:
            run.status, run.message = found
        return run.status

    def add_note(self, run: Run, note: str) -> bool:
        """Append ``note`` to the message of a finished run of this claim (a hook's error, say);
        its status is left as it is. True when it was written."""
        if not note:
            return False
        note = text.storable(note)
        joined = f"; {note}" if run.message else note
        written = (
            self.writable()
            .filter(pk=run.pk, token=run.token)
            .exclude(status=Run.Status.RUNNING)
            .update(message=Concat(F("message"), Value(joined), output_field=models.TextField()))
        )
        if written:
            run.message += joined
        return bool(written)

    # -- handed-off runs ----------------------------------------------------------------------

    def hand_off(self, run: Run, backend: str, task_id: str, *, duration: float, message: str) -> bool:
        """``run`` enqueued its work as task ``task_id`` on ``backend``: handed off, if still this
        process's (True when recorded). Its lease ends: no process of ours runs it any more."""
        recorded = (
            self.writable()
            .filter(pk=run.pk, status=Run.Status.RUNNING, token=run.token)
            .update(
                status=Run.Status.HANDED_OFF,
                task_backend=backend,
                task_id=task_id,
                duration=duration,
                message=text.storable(message),
                lease_until=None,
            )
        )
        if recorded:
            run.status, run.task_backend, run.task_id = Run.Status.HANDED_OFF, backend, task_id
            run.duration, run.message, run.lease_until = duration, text.storable(message), None
        return bool(recorded)

    def handed_off(self) -> RunQuerySet:
        """Runs waiting for their task's final result."""
        return self.writable().filter(status=Run.Status.HANDED_OFF)

    def settle(self, run: Run, status: str, *, message: str = "", traceback: str = "", finished_at: datetime) -> bool:
        """The task of a handed-off run has its final result: record it; True for the one caller
        that did (whoever polls, each verdict is recorded, and announced, once)."""
        duration = (finished_at - run.started_at).total_seconds() if run.started_at else run.duration
        rows = self.writable().filter(pk=run.pk, status=Run.Status.HANDED_OFF, token=run.token)
        stored = RunTexts(message, traceback, "")

        def write(texts: RunTexts) -> int:
            nonlocal stored
            stored = texts
            return rows.update(
                status=status,
                finished_at=finished_at,
                duration=duration,
                message=texts.message,
                traceback=texts.traceback,
            )

        recorded = stored.write(write, rows.db)
        if recorded:
            run.status, run.finished_at, run.duration = status, finished_at, duration
            run.message, run.traceback = stored.message, stored.traceback
        return bool(recorded)

    def abandon(self, ids: Iterable[int], message: str) -> int:
        """Runs this process claimed and never started, now that it stops: recorded as interrupted."""
        ids = list(ids)
        if not ids:
            return 0
        return (
            self.writable()
            .filter(pk__in=ids, status=Run.Status.RUNNING)
            .update(status=Run.Status.INTERRUPTED, finished_at=timezone.now(), message=text.storable(message))
        )

    # -- leases ----------------------------------------------------------------------------

    def renew(self, runs: dict[int, str], ttl: timedelta) -> set[int]:
        """Move the leases of ``runs`` (id -> token) ``ttl`` ahead; returns the ids that are no
        longer this process's (another process declared them crashed)."""
        if not runs:
            return set()
        rows = self.writable().filter(pk__in=list(runs), status=Run.Status.RUNNING)
        renewed = rows.update(lease_until=timezone.now() + ttl)
        if renewed == len(runs):
            return set()
        ours = set(rows.values_list("pk", "token"))
        return {pk for pk, token in runs.items() if (pk, token) not in ours}

    def crash_lost(self, now: datetime, me: ProcessIdentity | None = None) -> list[Run]:
        """Record as crashed the runs whose process is gone.

        A run crashed when its lease (renewed while its process lives) has passed, whatever
        host it ran on; or, at once, when its process is visibly gone: same host, same boot,
        same PID namespace, and no process with its pid. A run whose row another transaction
        holds (its process froze before committing) is left for a later call, never waited for
        (:mod:`cronjobs.models.nowait`). Returns the runs recorded now.
        """
        me = me or identity.current()
        expired = Q(lease_until__lt=now)
        candidates = self.writable().filter(status=Run.Status.RUNNING)
        if me.checks_pids:
            candidates = candidates.filter(
                expired | Q(hostname=me.hostname, boot_id=me.boot_id, pid_namespace=me.pid_namespace)
            )
        else:
            candidates = candidates.filter(expired)
        crashed = []
        fields = ("id", "job_id", "slot", "attempt", "hostname", "boot_id", "pid_namespace", "pid", "token")
        for run in candidates.only(*fields, "lease_until", "started_at"):
            lapsed = run.lease_until is not None and run.lease_until < now
            gone = (
                me.sees_pids_of(run.hostname, run.boot_id, run.pid_namespace)
                and run.pid is not None
                and run.pid != me.pid
                and not identity.pid_alive(run.pid)
            )
            if not (lapsed or gone):
                continue
            where = f"process {run.pid} on {run.hostname}"
            reason = f"{where} is gone" if gone else f"{where} stopped renewing its lease"
            duration = (now - run.started_at).total_seconds() if run.started_at else 0.0
            rows = self.writable().filter(pk=run.pk, status=Run.Status.RUNNING, token=run.token)
            if not gone:
                rows = rows.filter(expired)  # unless its process renewed the lease meanwhile
            with transaction.atomic(using=rows.db):
                # Never wait for the row: a holder frozen inside its transaction (after its
                # record's UPDATE, before COMMIT) would stall this runner with it. Skipped, it
                # is judged by a later pass once that transaction (or its session) has ended.
                if not lock_unheld(rows):
                    continue
                recorded = rows.update(status=Run.Status.CRASHED, finished_at=now, duration=duration, message=reason)
            if recorded:
                run.status, run.finished_at, run.duration, run.message = Run.Status.CRASHED, now, duration, reason
                crashed.append(run)
        return crashed

    # -- retention ---------------------------------------------------------------------------

    def prune(self, code: str, count: int | None, before: datetime | None) -> int:
        """Delete runs of ``code`` beyond the newest ``count`` or with a slot before ``before``.

        Runs still going are never deleted. The probe for the first run beyond ``count`` walks
        the (job, slot, attempt) index; the DELETE runs only when there is something to delete.
        """
        connection = _statements.connection()
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
                params.append(_statements.prep(connection, "slot", before))
            if not conditions:
                return 0
            cursor.execute(
                f"DELETE FROM {table} WHERE {q('job_code')} = %s AND {q('status')} NOT IN (%s, %s) AND ("
                + " OR ".join(f"({c})" for c in conditions)
                + ")",
                [code, *sorted(UNFINISHED), *params],
            )
            return cursor.rowcount


class Run(models.Model):
    """One run of a job, or one slot it did not run (missed, skipped)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        TIMED_OUT = "timed_out", _("timed out")
        SKIPPED = "skipped", _("skipped")
        MISSED = "missed", _("missed")
        CRASHED = "crashed", _("crashed")
        INTERRUPTED = "interrupted", _("interrupted")
        HANDED_OFF = "handed_off", _("handed off")

    # No database-level constraint: the job row always exists first, and MySQL's foreign-key
    # checks would take shared locks on it that deadlock concurrent claims.
    job = models.ForeignKey(
        Job, on_delete=models.CASCADE, related_name="runs", db_column="job_code", db_constraint=False
    )
    slot = models.DateTimeField(_("slot"))
    attempt = models.PositiveIntegerField(_("attempt"), default=1)
    forced = models.BooleanField(_("forced"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    duration = models.FloatField(_("duration (s)"), null=True, blank=True)
    hostname = models.CharField(_("host"), max_length=255, blank=True)
    boot_id = models.CharField(_("boot id"), max_length=36, blank=True, help_text=_("Of the host's kernel."))
    pid_namespace = models.PositiveBigIntegerField(_("PID namespace"), null=True, blank=True)
    pid = models.PositiveIntegerField(_("pid"), null=True, blank=True)
    token = models.CharField(
        _("claim token"), max_length=32, blank=True, help_text=_("Names the claim: only its holder may finish the run.")
    )
    lease_until = models.DateTimeField(
        _("alive until"), null=True, blank=True, help_text=_("Renewed while running; past it, the run crashed.")
    )
    task_backend = models.CharField(
        _("task backend"), max_length=100, blank=True, help_text=_("Of a job that hands its work to a Tasks backend.")
    )
    task_id = models.CharField(_("task id"), max_length=255, blank=True, help_text=_("The task the run handed off."))
    message = models.TextField(_("message"), blank=True)
    traceback = models.TextField(_("traceback"), blank=True)
    output = models.TextField(_("output"), blank=True)

    objects = RunQuerySet.as_manager()

    class Meta:
        app_label = "cronjobs"
        verbose_name = _("run")
        verbose_name_plural = _("runs")
        ordering = ["-slot", "-attempt"]
        constraints = [
            models.UniqueConstraint(fields=["job", "slot", "attempt"], name="cronjobs_run_one_claim_per_slot"),
        ]
        indexes = [
            models.Index(fields=["status", "started_at"], name="cronjobs_run_status"),
        ]

    def __str__(self) -> str:
        from cronjobs import words

        return f"{self.job_id} {words.moment(self.slot)} #{self.attempt}: {words.status(self.status)}"

    @classmethod
    def new(
        cls,
        code: str,
        slot: datetime,
        attempt: int,
        *,
        forced: bool = False,
        status: str = "running",
        lease: timedelta | None = None,
    ) -> Run:
        """An unsaved record made by this process; a running one holds a new claim token and is
        alive for ``lease``."""
        me = identity.current()
        now = timezone.now()
        running = status == cls.Status.RUNNING
        return cls(
            job_id=code,
            slot=slot,
            attempt=attempt,
            forced=forced,
            status=status,
            started_at=now if running else None,
            lease_until=now + lease if running and lease else None,
            hostname=me.hostname,
            boot_id=me.boot_id,
            pid_namespace=me.pid_namespace,
            pid=me.pid,
            token=secrets.token_hex(8) if running else "",
        )

    @property
    def failed(self) -> bool:
        return self.status in FAILURES


#: The runs that did not do their work: runcrons exits 1 for them, ``history --failed`` lists
#: them, they start a failing streak (failure mail) and monitors hear "fail".
FAILURES = frozenset({Run.Status.FAILED, Run.Status.TIMED_OUT, Run.Status.CRASHED, Run.Status.INTERRUPTED})
#: Records that are not runs a person calls "the last run".
NOT_RUNS = frozenset({Run.Status.RUNNING, Run.Status.MISSED})
#: Runs not over yet: never pruned.
UNFINISHED = frozenset({Run.Status.RUNNING, Run.Status.HANDED_OFF})

_statements = Statements(Run)
