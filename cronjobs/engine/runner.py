"""Deciding what is due, claiming slots exactly once, and running them.

The runner reads the clock once per invocation (``now``); everything else takes it from here.
With nothing due, a pass costs one query however many jobs are registered.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q

from cronjobs import conf, statements
from cronjobs.engine import heartbeat, recovery
from cronjobs.engine.execution import Outcome, execute, new_run
from cronjobs.engine.workers import abandon_claims, run_in_workers
from cronjobs.exceptions import Interrupted
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Job, Run
from cronjobs.ops import retention
from cronjobs.schedules import DueSlots, due_slots

logger = logging.getLogger("cronjobs")


@dataclasses.dataclass
class Planned:
    """A job that has something to do in this invocation."""

    job: type[BaseCronJob]
    state: Job
    forced: bool = False
    retry: bool = False
    requested: bool = False
    slots: DueSlots | None = None

    @property
    def code(self) -> str:
        return self.state.code


class Runner:
    """One pass over the registered jobs at the moment ``now``."""

    def __init__(
        self,
        jobs: dict[str, type[BaseCronJob]],
        *,
        now: datetime,
        force: bool = False,
        dry_run: bool = False,
    ) -> None:
        self.jobs = jobs
        self.now = now
        self.force = force
        self.dry_run = dry_run

    # -- deciding --------------------------------------------------------------------

    def plan(self) -> list[Planned]:
        """What is due now, in registration order.

        One query reads every job's code, schedule key, pause flag and whether it is due
        (decided by the database, so nothing-due rows cost no datetime parsing); full rows
        are fetched only for jobs that are due, forced, or whose schedule changed in code.
        Writes only for new or changed jobs.
        """
        due = ExpressionWrapper(Q(next_slot__lte=self.now) | Q(retry_at__lte=self.now), output_field=BooleanField())
        requested = ExpressionWrapper(Q(run_requested__isnull=False), output_field=BooleanField())
        summary = {
            code: (key, paused, bool(is_due), bool(is_requested))
            for code, key, paused, is_due, is_requested in Job.objects.annotate(
                is_due=due, is_requested=requested
            ).values_list("code", "schedule_key", "paused", "is_due", "is_requested")
        }
        states = self._first_seen([code for code in self.jobs if code not in summary])
        wanted = []
        for code, job in self.jobs.items():
            if code not in summary:
                continue
            key, paused, is_due, is_requested = summary[code]
            if self.force or is_requested or key != job.get_schedule().key or (is_due and not paused):
                wanted.append(code)
        if wanted:
            states.update((state.code, state) for state in Job.objects.filter(code__in=wanted))
        planned = []
        for code, job in self.jobs.items():
            state = states.get(code)
            if state is None:
                continue
            schedule = job.get_schedule()
            if state.schedule_key != schedule.key:
                self._reschedule(state, job)
            if self.force:
                planned.append(Planned(job, state, forced=True))
                continue
            if state.run_requested is not None:  # "run now" from the admin or the command line
                planned.append(Planned(job, state, forced=True, requested=True))
            if state.paused:
                continue
            if state.retry_at is not None and state.retry_at <= self.now:
                planned.append(Planned(job, state, retry=True))
            if state.next_slot <= self.now:
                limit = conf.get("MAX_CATCHUP")
                grace = conf.get("CATCHUP_GRACE")
                slots = due_slots(schedule, state.watermark, self.now, job.catchup, limit=limit, grace=grace)
                planned.append(Planned(job, state, slots=slots))
        return planned

    def _first_seen(self, codes: Iterable[str]) -> dict[str, Job]:
        """A new job starts from the moment it is first seen, never from the epoch."""
        rows: list[Job] = []
        for code in codes:
            schedule = self.jobs[code].get_schedule()
            rows.append(
                Job(
                    code=code,
                    first_seen=self.now,
                    watermark=self.now,
                    schedule_key=schedule.key,
                    next_slot=schedule.next_after(self.now),
                )
            )
        if rows and not self.dry_run:
            Job.objects.bulk_create(rows, ignore_conflicts=True)
        return {row.code: row for row in rows}

    def _reschedule(self, state: Job, job: type[BaseCronJob]) -> None:
        """The job's schedule changed in code: its next slot follows the new schedule."""
        schedule = job.get_schedule()
        state.schedule_key = schedule.key
        state.next_slot = schedule.next_after(state.watermark)
        if not self.dry_run:
            Job.objects.filter(code=state.code).update(schedule_key=state.schedule_key, next_slot=state.next_slot)

    # -- running ---------------------------------------------------------------------

    def run(self, planned: list[Planned] | None = None, *, workers: int = 1) -> list[Outcome]:
        """Run everything that is due; one job's failure never stops the others.

        With something due, runs left behind by dead processes are recorded as crashed first.
        ``workers`` > 1 runs the due jobs in that many processes (see :mod:`cronjobs.workers`).
        """
        items = self.plan() if planned is None else planned
        if not items or self.dry_run:
            return [outcome for item in items for outcome in self.run_one(item)]
        outcomes = recovery.recover(self.jobs, self.now)
        if workers > 1 and len(items) > 1:
            return outcomes + run_in_workers(self, items, workers)
        try:
            for item in items:
                outcomes.extend(self.run_one(item))
        except (KeyboardInterrupt, Interrupted):
            abandon_claims()
            raise
        finally:
            heartbeat.get().stop()
        return outcomes

    def run_one(self, item: Planned) -> list[Outcome]:
        """Run one planned item, then apply ``KEEP_RUNS`` to that job's records."""
        outcomes = self._run_item(item)
        if outcomes and not self.dry_run:
            retention.prune_job(item.code, self.now, retention.policy())
        return outcomes

    def _run_item(self, item: Planned) -> list[Outcome]:
        if item.requested and not self.dry_run:
            # Compare-and-set: of all processes that saw the request, one runs it.
            taken = Job.objects.filter(code=item.code, run_requested=item.state.run_requested)
            if not taken.update(run_requested=None):
                return []
        if item.forced:
            return self._attempts(item.job, item.state, self.now, 1, forced=True)
        if item.retry:
            state = item.state
            assert state.retry_slot is not None and state.retry_attempt is not None
            return self._attempts(item.job, state, state.retry_slot, state.retry_attempt, retry_of=state)
        if self.dry_run:
            assert item.slots is not None
            return [Outcome(item.code, s, 1, Run.Status.MISSED, 0.0, "") for s in item.slots.missed] + [
                Outcome(item.code, s, 1, "due", 0.0, "dry run") for s in item.slots.run
            ]
        outcomes, claimed = self._settle(item)
        for run in claimed:
            outcomes.extend(self._attempts(item.job, item.state, run.slot, 1, claimed=run))
        return outcomes

    def _settle(self, item: Planned) -> tuple[list[Outcome], list[Run]]:
        """Move the job's watermark past the due slots, then record missed slots and claim the rest.

        The watermark moves by compare-and-set from the value this process read, so one
        process settles each range of slots; the claim rows, unique per (job, slot,
        attempt), make it impossible for two processes to run one slot even so.
        """
        state, job = item.state, item.job
        slots = item.slots
        schedule = job.get_schedule()
        for _ in range(10):
            assert slots is not None
            newest = slots.newest
            if newest is None:
                return [], []
            with transaction.atomic():
                if statements.move_watermark(state.code, state.watermark, newest, schedule.next_after(newest)):
                    missed = self._record_missed(item, slots)
                    claimed = [run for run in (self._insert_claim(state.code, s, 1) for s in slots.run) if run]
                    return missed, claimed
            # Another process moved the watermark since we read it: decide again from there.
            fresh = Job.objects.filter(code=state.code).first()
            if fresh is None or fresh.watermark >= self.now:
                return [], []
            state.watermark = fresh.watermark
            slots = due_slots(
                schedule,
                state.watermark,
                self.now,
                job.catchup,
                limit=conf.get("MAX_CATCHUP"),
                grace=conf.get("CATCHUP_GRACE"),
            )
        return [], []

    def _record_missed(self, item: Planned, slots: DueSlots) -> list[Outcome]:
        missed = [new_run(item.code, slot, 1, status=Run.Status.MISSED) for slot in slots.missed]
        if not missed:
            return []
        if slots.more_missed:
            missed[0].message = f"earlier slots since {item.state.watermark.isoformat()} were missed too"
        Run.objects.bulk_create(missed, ignore_conflicts=True)
        logger.warning("%s: %d slot(s) missed (catchup=%s)", item.code, len(missed), item.job.catchup)
        return [Outcome(item.code, m.slot, 1, Run.Status.MISSED, 0.0, m.message) for m in missed]

    def _attempts(
        self,
        job: type[BaseCronJob],
        state: Job,
        slot: datetime,
        attempt: int,
        *,
        forced: bool = False,
        retry_of: Job | None = None,
        claimed: Run | None = None,
    ) -> list[Outcome]:
        """Claim and run one slot; with retries and no delay, run the further attempts at once."""
        code = job.get_code()
        outcomes: list[Outcome] = []
        while True:
            if self.dry_run:
                return [Outcome(code, slot, attempt, "due", 0.0, "dry run")]
            run = claimed or self.claim(code, slot, attempt, forced=forced, retry_of=retry_of)
            retry_of = claimed = None
            if run is None:
                return outcomes
            run.job = state  # as read by plan(): what notices need to know of the job, without a query
            outcome = execute(job, run)
            outcomes.append(outcome)
            if outcome.status not in (Run.Status.FAILED, Run.Status.TIMED_OUT) or attempt > job.retries:
                return outcomes
            attempt += 1
            if job.retry_delay:
                retry_at = self.now + job.retry_delay
                Job.objects.filter(code=code).update(retry_at=retry_at, retry_slot=slot, retry_attempt=attempt)
                return outcomes

    def claim(
        self, code: str, slot: datetime, attempt: int, *, forced: bool = False, retry_of: Job | None = None
    ) -> Run | None:
        """Insert the run row that claims (job, slot, attempt); None when another process has it."""
        with transaction.atomic():
            if retry_of is not None:
                # The job row first: every transaction that writes both tables locks it first.
                Job.objects.filter(code=code, retry_slot=slot, retry_attempt=attempt).update(
                    retry_at=None, retry_slot=None, retry_attempt=None
                )
            return self._insert_claim(code, slot, attempt, forced=forced)

    def _insert_claim(self, code: str, slot: datetime, attempt: int, *, forced: bool = False) -> Run | None:
        ttl = self.jobs[code].lock_ttl
        run = new_run(code, slot, attempt, forced=forced, lease=ttl)
        try:
            with transaction.atomic():
                run.save(force_insert=True)
        except IntegrityError:
            logger.debug("%s %s #%d: claimed by another process", code, slot.isoformat(), attempt)
            return None
        heartbeat.get().add_run(run.pk, ttl)
        return run
