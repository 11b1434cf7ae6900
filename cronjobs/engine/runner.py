"""Deciding what is due, claiming slots exactly once, and running them.

The runner reads the clock once per invocation (``now``); everything else takes it from here.
With nothing due, a pass costs one query however many jobs are registered. Every change of
state goes through the models' querysets (:mod:`cronjobs.models`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import router, transaction

from cronjobs import conf, words
from cronjobs.engine import execution, jitter, leases, processes, retrying, stops, supervisor
from cronjobs.engine.outcomes import Intent, Outcome, Preview, announce
from cronjobs.exceptions import Interrupted
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Job, Maintenance, Run
from cronjobs.ops import retention
from cronjobs.schedules import DueSlots, due_slots

logger = logging.getLogger("cronjobs")

#: Recorded on a claimed run that another process declared crashed before it started here.
NOT_STARTED = "it had not started here; this process came back and left it"


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
        self, jobs: dict[str, type[BaseCronJob]], *, now: datetime, force: bool = False, supervised: bool | None = None
    ) -> None:
        self.jobs = jobs
        self.now = now
        self.force = force
        self.supervised = supervised
        """Run jobs in a work horse; None: unless :func:`~cronjobs.engine.supervisor.inline_reason` says not to."""
        self.first_seen: dict[str, Job] = {}
        self.execute: Callable[[type[BaseCronJob], Run], Outcome] = execution.execute

    # -- deciding --------------------------------------------------------------------

    def plan(self, *, save: bool = True) -> list[Planned]:
        """What is due now, in registration order.

        One query reads every job's code, schedule key, pause flag and whether it is due;
        full rows are fetched only for jobs that are due, forced, requested, or whose schedule
        changed in code. Writes only for new or changed jobs (none with ``save=False``).
        """
        summary = Job.objects.summary(self.now)
        states = Job.objects.see({c: j for c, j in self.jobs.items() if c not in summary}, self.now, save=save)
        self.first_seen = dict(states)  # jobs seen for the first time by this pass (runcrons tells)
        wanted = [
            code
            for code, job in self.jobs.items()
            if code in summary
            and (
                self.force
                or summary[code][3]  # run requested
                or summary[code][0] != job.get_schedule().key
                or (summary[code][2] and not summary[code][1])  # due and not paused
            )
        ]
        if wanted:
            states.update((state.code, state) for state in Job.objects.writable().filter(code__in=wanted))
        # Maintenance mode holds every job not marked run_in_maintenance (read only when something is due).
        maintenance = bool(wanted) and not self.force and Maintenance.objects.current() is not None
        planned = []
        for code, job in self.jobs.items():
            state = states.get(code)
            if state is None:
                continue
            if state.schedule_key != job.get_schedule().key:
                Job.objects.reschedule(state, job, save=save)
            if self.force:
                planned.append(Planned(job, state, forced=True))
                continue
            if state.run_requested is not None:  # "run now" from the admin or the command line
                planned.append(Planned(job, state, forced=True, requested=True))
            if state.paused or (maintenance and not job.run_in_maintenance):
                continue
            if state.retry_at is not None and state.retry_at <= self.now:
                planned.append(Planned(job, state, retry=True))
            if state.next_slot <= self.now:
                planned.append(Planned(job, state, slots=self._due(job, state.watermark)))
        return planned

    def _due(self, job: type[BaseCronJob], watermark: datetime) -> DueSlots:
        return due_slots(
            job.get_schedule(),
            watermark,
            self.now,
            job.catchup,
            limit=conf.get("MAX_CATCHUP"),
            grace=conf.get("CATCHUP_GRACE"),
        )

    def preview(self) -> list[Preview]:
        """What :meth:`run` would do now, slot by slot; changes nothing (``runcrons --dry-run``)."""
        previews = []
        for item in self.plan(save=False):
            if item.forced:
                reason = "requested" if item.requested else "forced"
                previews.append(Preview(item.code, self.now, Intent.RUN, reason=reason))
            elif item.retry:
                state = item.state
                assert state.retry_slot is not None and state.retry_attempt is not None
                previews.append(Preview(item.code, state.retry_slot, Intent.RUN, state.retry_attempt, "retry"))
            else:
                assert item.slots is not None
                previews += [Preview(item.code, s, Intent.MISS, reason="schedule") for s in item.slots.missed]
                previews += [Preview(item.code, s, Intent.RUN, reason="schedule") for s in item.slots.run]
        return previews

    # -- running ---------------------------------------------------------------------

    def run(self, planned: list[Planned] | None = None, *, workers: int = 1) -> list[Outcome]:
        """Run everything that is due; one job's failure never stops the others.

        With something due, runs left behind by dead processes are recorded as crashed first.
        ``workers`` > 1 runs the due jobs in that many processes. Each job runs in a work horse
        (:mod:`cronjobs.engine.supervisor`), or inline where a work horse could not see the data
        (:func:`~cronjobs.engine.supervisor.inline_reason`). SIGTERM stops it between two jobs,
        or inside a job (its work horse killed, its work rolled back, the run recorded as
        interrupted); the runs it had claimed and not started are recorded as interrupted.
        """
        items = jitter.order(self.plan() if planned is None else planned)
        if not items:
            return []
        with supervisor.session():
            return self._run(items, workers)

    def _run(self, items: list[Planned], workers: int) -> list[Outcome]:
        inline = supervisor.inline_reason() if self.supervised is not False else "asked to run inline"
        if inline is None:
            supervisor.know(self.jobs)
        outcomes = leases.recover(self.now, notify=inline is not None)
        if inline is None and outcomes:
            supervisor.notify_crashed(outcomes)
        if workers > 1 and len(items) > 1:
            return outcomes + self._run_in_processes(items, workers)
        self.execute = execution.execute if inline else supervisor.execute
        try:
            for item in items:
                stops.check()
                outcomes.extend(self.run_one(item))
            stops.check()
        except (KeyboardInterrupt, Interrupted):
            leases.abandon()
            raise
        return outcomes

    def run_one(self, item: Planned) -> list[Outcome]:
        """Run one planned item, then apply ``KEEP_RUNS`` to that job's records."""
        outcomes = self._run_item(item)
        if outcomes:
            retention.prune_job(item.code, self.now)
        return outcomes

    def _run_item(self, item: Planned) -> list[Outcome]:
        if item.requested and not Job.objects.take_run_request(item.code, item.state.run_requested):  # type: ignore[arg-type]
            return []  # another process took the request
        if item.forced:
            return self._attempts(item, self.now, 1, forced=True)
        if item.retry:
            state = item.state
            assert state.retry_slot is not None and state.retry_attempt is not None
            return self._attempts(item, state.retry_slot, state.retry_attempt, retry=True)
        outcomes, claimed = self._settle(item)
        for run in claimed:
            jitter.wait(item.job, run.slot)
            outcomes.extend(self._attempts(item, run.slot, 1, claimed=run))
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
            with transaction.atomic(using=router.db_for_write(Run)):
                settled = Job.objects.move_watermark(state.code, state.watermark, newest, schedule.next_after(newest))
                if settled:
                    missed = self._record_missed(item, slots)
                    claimed = [run for run in (self._claim(job, s, 1) for s in slots.run) if run]
            if settled:
                return missed, claimed
            # Another process moved the watermark since we read it: decide again from there.
            fresh = Job.objects.writable().filter(code=state.code).first()
            if fresh is None or fresh.watermark >= self.now:
                return [], []
            state.watermark = fresh.watermark
            slots = self._due(job, state.watermark)
        return [], []

    def _record_missed(self, item: Planned, slots: DueSlots) -> list[Outcome]:
        note = f"earlier slots since {words.moment(item.state.watermark)} were missed too" if slots.more_missed else ""
        missed = Run.objects.record_missed(item.code, slots.missed, note=note)
        if missed:
            logger.warning("%s: %d slot(s) missed (catchup=%s)", item.code, len(missed), item.job.catchup)
        return [Outcome.of(run) for run in missed]

    def _attempts(
        self,
        item: Planned,
        slot: datetime,
        attempt: int,
        *,
        forced: bool = False,
        retry: bool = False,
        claimed: Run | None = None,
    ) -> list[Outcome]:
        """Run one slot; with retries and no delay, run the further attempts at once."""
        job = item.job
        outcomes: list[Outcome] = []
        while True:
            if claimed is None:
                with transaction.atomic(using=router.db_for_write(Run)):
                    # The job row first: every transaction that writes both tables locks it first.
                    if retry and not Job.objects.take_retry(item.code, slot, attempt):
                        return outcomes
                    claimed = self._claim(job, slot, attempt, forced=forced)
            run, claimed, retry = claimed, None, False
            if run is None:
                return outcomes
            stops.check()  # a stop asked for while claiming: the claim is abandoned
            if not self._still_ours(job, run):
                leases.get().remove_run(run.pk)
                Run.objects.record_late_end(run, NOT_STARTED, duration=0.0)
                outcomes.append(Outcome.of(run))
                return outcomes
            run.job = item.state  # as read by plan(): what notices need to know of the job, without a query
            outcome = self.execute(job, run)
            outcomes.append(outcome)
            failed = outcome.status in (Run.Status.FAILED, Run.Status.TIMED_OUT, Run.Status.CRASHED)
            if not failed or attempt > job.retries or not outcome.retryable:
                return outcomes
            attempt += 1
            if wait := retrying.delay(job, slot, attempt):
                Job.objects.schedule_retry(item.code, self.now + wait, slot, attempt)
                return outcomes
            stops.check()

    def _claim(self, job: type[BaseCronJob], slot: datetime, attempt: int, *, forced: bool = False) -> Run | None:
        """Claim (job, slot, attempt) for this process and have its lease renewed; None when another has it."""
        run = Run.objects.claim(job.get_code(), slot, attempt, lease=job.lock_ttl, forced=forced)
        if run is None:
            logger.debug("%s %s #%d: claimed by another process", job.get_code(), slot.isoformat(), attempt)
            return None
        leases.get().add_run(run, job.lock_ttl)
        return run

    def _still_ours(self, job: type[BaseCronJob], run: Run) -> bool:
        """A run claimed a while ago (it waited behind others) is confirmed before it starts."""
        beat = leases.get()
        if beat.fresh(run.pk):
            return True
        if beat.lost(run.pk) or not Run.objects.still_ours(run, job.lock_ttl):
            logger.error("%s %s: claimed here, then declared crashed by another process", run.job_id, run.slot)
            return False
        beat.renewed(run.pk)
        return True

    def _run_in_processes(self, items: list[Planned], workers: int) -> list[Outcome]:
        """The due jobs in ``workers`` forked processes, each taking the next job from a queue.

        Each runs its jobs the way a single process does (settling by compare-and-set, unique
        claims, locks, fenced records), so exactly-once holds as between separate runcrons.
        A worker that dies leaves its run to recovery; it is reported as crashed.
        """
        todo = processes.shared_queue()
        count = min(workers, len(items))
        for index in range(len(items)):
            todo.put(index)
        for _ in range(count):
            todo.put(None)

        def work(channel: processes.Channel) -> dict[int, list[Outcome]]:
            done: dict[int, list[Outcome]] = {}
            self.execute = supervisor.execute
            try:
                while (index := todo.get()) is not None:
                    stops.check()
                    channel.send(("took", index))  # if this process dies now, the parent knows whose item
                    try:
                        done[index] = self.run_one(items[index])
                    except Exception as exc:  # e.g. the database went away while settling
                        logger.error("%s: %s", items[index].code, exc, exc_info=True)
                        done[index] = [Outcome(items[index].code, self.now, 0, Run.Status.FAILED, 0.0, f"{exc}")]
                    channel.send(("done", index, done[index]))
            except (KeyboardInterrupt, Interrupted):
                leases.abandon()
                raise
            finally:
                supervisor.shutdown()
            return done

        def heard(message: tuple[Any, ...]) -> None:
            if message[0] == "done":
                announce(message[2])  # each run's line as it ends, not when every worker has

        children = processes.fork(count, work, heard)
        done: dict[int, list[Outcome]] = {}
        taken: dict[int, processes.Child] = {}
        for child in children:
            for kind, index, *outcomes_of in child.messages:
                if kind == "took":
                    taken[index] = child
                else:
                    done[index] = outcomes_of[0]
        lost = [index for index in range(len(items)) if index not in done]
        # A worker that died left its run "running": its pid is gone, so it is recorded now.
        crashed = leases.recover(self.now) if lost else []
        outcomes: list[Outcome] = []
        for index, item in enumerate(items):
            if index in done:
                outcomes.extend(done[index])
                continue
            mine = [o for o in crashed if o.code == item.code]
            if not mine:
                taker = taken.get(index)
                status = taker.exitcode if taker is not None else None
                message = f"worker process died (exit status {status}) before it claimed a run"
                logger.error("%s: %s", item.code, message)
                mine = [Outcome(item.code, self.now, 0, Run.Status.CRASHED, 0.0, message)]
            outcomes.extend(mine)
        return outcomes
