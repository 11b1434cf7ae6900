"""The state of each job: what is settled, what is due next, and every change of it.

Every write to a job's row is a method of :class:`JobQuerySet`; the engine, the commands, the
admin and the notices call these, never ``update()`` on their own. Writes that several
processes may race for are compare-and-set: the one whose condition still holds wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import models, router
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils.translation import gettext_lazy as _

from cronjobs.models.sql import Statements

if TYPE_CHECKING:
    from cronjobs.jobs import BaseCronJob


class JobQuerySet(models.QuerySet["Job"]):
    """Reads for deciding what is due, and every change of a job's state."""

    def writable(self) -> JobQuerySet:
        """On the database the router gives for writing jobs: the engine reads what it will change there."""
        return self.using(router.db_for_write(Job))

    # -- deciding ----------------------------------------------------------------------

    def summary(self, now: datetime) -> dict[str, tuple[str, bool, bool, bool]]:
        """One query: code -> (schedule key, paused, due at ``now``, run requested), decided by the
        database, so that rows with nothing due cost no datetime parsing."""
        due = ExpressionWrapper(Q(next_slot__lte=now) | Q(retry_at__lte=now), output_field=BooleanField())
        requested = ExpressionWrapper(Q(run_requested__isnull=False), output_field=BooleanField())
        rows = self.writable().annotate(is_due=due, is_requested=requested)
        return {
            code: (key, paused, bool(is_due), bool(is_requested))
            for code, key, paused, is_due, is_requested in rows.values_list(
                "code", "schedule_key", "paused", "is_due", "is_requested"
            )
        }

    def see(self, jobs: Mapping[str, type[BaseCronJob]], now: datetime, *, save: bool = True) -> dict[str, Job]:
        """The first sight of ``jobs``: each starts from ``now``, never from the epoch.

        Rows that exist already are left alone (another process saw the job first). With
        ``save=False`` (a dry run) the rows are made but not stored.
        """
        rows = []
        for code, job in jobs.items():
            schedule = job.get_schedule()
            rows.append(
                Job(
                    code=code,
                    first_seen=now,
                    watermark=now,
                    schedule_key=schedule.key,
                    next_slot=schedule.next_after(now),
                )
            )
        if rows and save:
            self.writable().bulk_create(rows, ignore_conflicts=True)
        return {row.code: row for row in rows}

    def ensure(self, jobs: Mapping[str, type[BaseCronJob]], now: datetime) -> None:
        """Rows for every job of ``jobs`` with a valid schedule (for the list and the admin)."""
        from cronjobs.exceptions import CronJobsError

        known = set(self.writable().filter(code__in=list(jobs)).values_list("code", flat=True))
        new = {}
        for code, job in jobs.items():
            if code in known:
                continue
            try:
                job.get_schedule()
            except CronJobsError:
                continue
            new[code] = job
        self.see(new, now)

    def reschedule(self, state: Job, job: type[BaseCronJob], *, save: bool = True) -> None:
        """The job's schedule changed in code: its next slot follows the new schedule from the watermark."""
        schedule = job.get_schedule()
        state.schedule_key = schedule.key
        state.next_slot = schedule.next_after(state.watermark)
        if save:
            self.writable().filter(code=state.code).update(schedule_key=state.schedule_key, next_slot=state.next_slot)

    def move_watermark(self, code: str, expected: datetime, newest: datetime, next_slot: datetime) -> bool:
        """Compare-and-set the watermark from ``expected`` to ``newest``; True when this call did.

        Plain SQL: it is on the path of every due job.
        """
        connection = _statements.connection()
        sql = _statements.sql(
            connection,
            "watermark",
            lambda q, table: (
                f"UPDATE {table} SET {q('watermark')} = %s, {q('next_slot')} = %s "
                f"WHERE {q('code')} = %s AND {q('watermark')} = %s"
            ),
        )
        prep = _statements.prep
        params = [
            prep(connection, "watermark", newest),
            prep(connection, "next_slot", next_slot),
            code,
            prep(connection, "watermark", expected),
        ]
        return _statements.execute(connection, sql, params) == 1

    # -- retries -----------------------------------------------------------------------

    def schedule_retry(self, code: str, at: datetime, slot: datetime, attempt: int, *, replace: bool = True) -> bool:
        """Make attempt ``attempt`` of ``slot`` due at ``at``. With ``replace=False`` a retry
        already pending is kept (recovery of a crash must not push back a failure's retry)."""
        rows = self.writable().filter(code=code)
        if not replace:
            rows = rows.filter(retry_at__isnull=True)
        return bool(rows.update(retry_at=at, retry_slot=slot, retry_attempt=attempt))

    def take_retry(self, code: str, slot: datetime, attempt: int) -> bool:
        """Clear the pending retry of ``slot``/``attempt``; True when this call did (one process runs it)."""
        return bool(
            self.writable()
            .filter(code=code, retry_slot=slot, retry_attempt=attempt)
            .update(retry_at=None, retry_slot=None, retry_attempt=None)
        )

    # -- what people do ------------------------------------------------------------------

    def request_run(self, code: str, now: datetime) -> None:
        """Have the next runcrons run the job once, as a forced run."""
        self.writable().filter(code=code).update(run_requested=now)

    def take_run_request(self, code: str, requested: datetime) -> bool:
        """Compare-and-set: of every process that saw the request, the one that clears it runs it."""
        return bool(self.writable().filter(code=code, run_requested=requested).update(run_requested=None))

    def pause(self, code: str) -> bool:
        """Stop running the job's slots; False if it was paused already."""
        return bool(self.writable().filter(code=code, paused=False).update(paused=True))

    def resume(self, job: type[BaseCronJob], now: datetime) -> bool:
        """Run the job's slots again from ``now`` on: the ones missed while paused are skipped, as for
        a new job, and a pending retry is dropped. False if it was not paused."""
        schedule = job.get_schedule()
        return bool(
            self.writable()
            .filter(code=job.get_code(), paused=True)
            .update(
                paused=False,
                watermark=now,
                schedule_key=schedule.key,
                next_slot=schedule.next_after(now),
                retry_at=None,
                retry_slot=None,
                retry_attempt=None,
            )
        )

    def restart(self, job: type[BaseCronJob], now: datetime) -> bool:
        """Maintenance mode ended: a job it held (not paused on its own) runs again from ``now``
        on, its slots in between skipped, as after :meth:`resume`. False if it is paused."""
        schedule = job.get_schedule()
        return bool(
            self.writable()
            .filter(code=job.get_code(), paused=False)
            .update(watermark=now, schedule_key=schedule.key, next_slot=schedule.next_after(now))
        )

    def forget(self, codes: Iterable[str]) -> int:
        """Delete the rows (and so the runs) of jobs no longer in code."""
        deleted, _ = self.writable().filter(code__in=list(codes)).delete()
        return deleted

    # -- failing streaks -------------------------------------------------------------------

    def start_failing(self, code: str, now: datetime) -> bool:
        """Mark the start of a streak of failed slots; True for the one call that started it."""
        return bool(self.writable().filter(code=code, failing_since__isnull=True).update(failing_since=now))

    def stop_failing(self, code: str) -> datetime | None:
        """End the job's failing streak; returns when it started, for the one call that ended it."""
        rows = self.writable().filter(code=code, failing_since__isnull=False)
        since = rows.values_list("failing_since", flat=True).first()
        if since is None:
            return None
        ended = self.writable().filter(code=code, failing_since=since).update(failing_since=None)
        return since if ended else None


class Job(models.Model):
    """The state that decides what is due: one row per job code, whatever the history."""

    code = models.CharField(_("code"), max_length=191, primary_key=True)
    first_seen = models.DateTimeField(_("first seen"))
    watermark = models.DateTimeField(
        _("settled up to"), help_text=_("Slots at or before this time are settled: run, missed or skipped.")
    )
    schedule_key = models.CharField(_("schedule"), max_length=255)
    next_slot = models.DateTimeField(_("next slot"))
    paused = models.BooleanField(_("paused"), default=False)
    retry_at = models.DateTimeField(_("retry at"), null=True, blank=True)
    retry_slot = models.DateTimeField(_("retry slot"), null=True, blank=True)
    retry_attempt = models.PositiveIntegerField(_("retry attempt"), null=True, blank=True)
    run_requested = models.DateTimeField(
        _("run requested"), null=True, blank=True, help_text=_("The next runcrons runs the job once, as forced.")
    )
    failing_since = models.DateTimeField(
        _("failing since"), null=True, blank=True, help_text=_("Start of the current streak of failed slots.")
    )

    objects = JobQuerySet.as_manager()

    class Meta:
        app_label = "cronjobs"
        verbose_name = _("cron job")
        verbose_name_plural = _("cron jobs")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def next_run(self) -> tuple[datetime | None, str]:
        """When the job runs next and why: ``"requested"``, ``"retry"``, ``"schedule"``, or (None, "") when paused."""
        if self.run_requested is not None:
            return self.run_requested, "requested"
        if self.paused:
            return None, ""
        if self.retry_at is not None and self.retry_at < self.next_slot:
            return self.retry_at, "retry"
        return self.next_slot, "schedule"


_statements = Statements(Job)

__all__: list[Any] = ["Job", "JobQuerySet"]
