"""Running one claimed run: take the lock, call ``run()`` in a transaction, record the result, fenced.

**Fenced success.** For an ``atomic`` job whose ``database`` holds cronjobs' tables, the run's
success is recorded inside the job's transaction, as its last statement, by an update that
only matches while the run is still ``running`` under this process's claim
(:meth:`~cronjobs.models.runs.RunQuerySet.finish`). If another process has declared the run
crashed meanwhile (this one was frozen or cut off past its lease, and a retry may already have
run the slot), the update matches nothing and the job's work rolls back: each slot's work
commits once. A database lock on the same database is released in that same transaction: one
commit per run. A non-atomic job, or one whose ``database`` is another, records its success
after its work: at-least-once after a crash, and a late end says so on the record.

**Failures** (an exception, ``sys.exit()``) roll the job's writes back and are recorded after
the rollback, conditionally too: a record never overwrites a newer verdict. Everything,
``SystemExit`` included, only fails this run.

**Where each step runs.** Under runcrons, the steps that call project code (:func:`prepare`:
conditions and hand-offs; :func:`perform`: hooks, ``run()`` and the records) run in a work horse,
and the lock is taken and renewed by its supervisor (:func:`take_lock`), which also records a run
it had to stop: a timeout, a lost lease, a stop, a crash (:mod:`cronjobs.engine.supervisor`).
:func:`execute` runs them all inline, in one process.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from contextlib import nullcontext
from typing import Any

from django.db import router, transaction

from cronjobs import conf, locks, signals
from cronjobs.engine import alarm, asyncjobs, conditions, leases, retrying
from cronjobs.engine.hooks import Hooks
from cronjobs.engine.outcomes import Outcome
from cronjobs.engine.output import Output
from cronjobs.exceptions import Interrupted, JobTimeout, LockError, LostClaim, LostLock
from cronjobs.jobs import BaseCronJob
from cronjobs.locks.database import DatabaseLock
from cronjobs.models import Run

logger = logging.getLogger("cronjobs")

Status = Run.Status

#: Added to the record of a run that another process declared crashed while it went on here.
LATE_ROLLED_BACK = "it came back after that and lost its claim: its work was rolled back"
LATE_KEPT = (
    "it came back after that and ended here ({status}); its work is not atomic with its record "
    "(atomic = False, or another database), so what it did stays and the slot may have run twice"
)


def fenced(job_cls: type[BaseCronJob]) -> bool:
    """Whether the job's success is recorded inside its transaction (see the module's doc)."""
    return job_cls.atomic and job_cls.database == router.db_for_write(Run)


def execute(job_cls: type[BaseCronJob], run: Run) -> Outcome:
    """Run ``job_cls`` for the claimed ``run`` in this process and record how it ended.

    The inline way (``cronjobs.testing.run_job``, a runcrons inside a transaction): the steps
    a supervisor and its work horse share between them (:mod:`cronjobs.engine.supervisor`), in
    one process, with no timeout enforced and nothing that could stop the job halfway.
    """
    outcome = prepare(job_cls, run)
    if outcome is not None:
        return outcome
    lock, refused = take_lock(job_cls, run)
    if refused is not None:
        return record(job_cls, run, **refused)
    try:
        return perform(job_cls, run, lock, inline=True)
    finally:
        leases.get().remove_run(run.pk)
        release(run, lock)


def prepare(job_cls: type[BaseCronJob], run: Run) -> Outcome | None:
    """The job's conditions, and a hand-off to a task backend: the outcome when the run ends
    here (skipped, failed, handed off), None when the job is to run (project code: in the work horse)."""
    if not run.forced:
        try:
            reason = conditions.skip_reason(job_cls, run.slot, run.attempt)
        except conditions.ConditionError as exc:
            logger.error("%s: %s", run.job_id, exc, exc_info=True)
            return _record(job_cls, run, Status.FAILED, 0.0, str(exc), traceback.format_exc())
        if reason is not None:
            return _record(job_cls, run, Status.SKIPPED, 0.0, reason)
    if job_cls.task_backend is not None:
        from cronjobs.engine.handoff import hand_off

        return hand_off(job_cls, run)
    return None


def take_lock(job_cls: type[BaseCronJob], run: Run) -> tuple[locks.Lock | None, dict[str, Any] | None]:
    """Take the job's lock (``overlap = "skip"``) for ``run``, renewed by this process's heartbeat
    until :func:`release`. Returns the lock (None: the job takes none) or why the run may not
    start, as the keyword arguments of :func:`record`."""
    if job_cls.overlap != "skip":
        return None, None
    lock = locks.get_lock(job_cls.get_lock_name(), job_cls.get_code(), ttl=job_cls.lock_ttl)
    try:
        acquired = lock.acquire()
        holder = None if acquired else lock.holder() or "another process"
    except LockError as exc:
        logger.error("%s: %s", run.job_id, exc)
        return None, {"status": Status.FAILED, "message": f"could not take the lock: {exc}", "lock_error": str(exc)}
    if not acquired:
        return None, {"status": Status.SKIPPED, "message": f"still running elsewhere: lock held by {holder}"}
    leases.get().add_lock(lock, run.pk)
    return lock, None


def release(run: Run, lock: locks.Lock | None) -> None:
    """Give the run's lock back (a no-op when its record's transaction released it already)."""
    if lock is None:
        return
    leases.get().remove_lock(lock)
    try:
        lock.release()
    except LockError as exc:  # it expires on its own
        logger.error("%s: %s", run.job_id, exc)


def perform(
    job_cls: type[BaseCronJob], run: Run, lock: locks.Lock | None, captured: Any = None, *, inline: bool = False
) -> Outcome:
    """Call the job's hooks and ``run()`` in its transaction and record the outcome, fenced (see the
    module's doc). ``lock``: a database lock on cronjobs' database is released in that transaction.
    ``captured``: what holds the job's output (default: captured here, inline).
    ``inline``: no supervisor keeps the timeout: a signal does (:mod:`cronjobs.engine.alarm`)."""
    signals.send(signals.run_started, job_cls, run=run)
    started = time.monotonic()
    captured = captured if captured is not None else Output(conf.get("OUTPUT_LIMIT"), inline=True)
    fence = fenced(job_cls)
    hooks = Hooks(None, run)
    try:
        job = job_cls()
        job.slot, job.attempt, job.forced = run.slot, run.attempt, run.forced
        hooks = Hooks(job, run)
        hooks.start()  # before the transaction opens
        with transaction.atomic(using=job_cls.database) if job_cls.atomic else nullcontext():
            timeout = alarm.deadline(
                job_cls.timeout if inline else None, JobTimeout(f"stopped after {job_cls.timeout}")
            )
            with captured, timeout:
                result = asyncjobs.call(job.run) if asyncjobs.is_async(job.run) else job.run()  # type: ignore[arg-type]
            message = "" if result is None else str(result)
            if fence:
                recorded = Run.objects.finish(
                    run,
                    Status.SUCCEEDED,
                    duration=time.monotonic() - started,
                    message=message,
                    output=captured.getvalue(),
                )
                if not recorded:
                    raise LostClaim("the run was declared crashed by another process")
                if isinstance(lock, DatabaseLock) and lock.db == job_cls.database:
                    lock.release()
        if fence:
            outcome = _finished(job_cls, run)
        else:
            elapsed = time.monotonic() - started
            outcome = _record(job_cls, run, Status.SUCCEEDED, elapsed, message, "", captured, lock=lock)
    except (KeyboardInterrupt, Interrupted) as exc:  # inline only: Ctrl-C in a test, say
        message = str(exc) or "interrupted"
        elapsed = time.monotonic() - started
        _record(job_cls, run, Status.INTERRUPTED, elapsed, message, traceback.format_exc(), captured, lock=lock)
        raise
    except BaseException as exc:
        status, message = failure(job_cls, exc)
        trace = traceback.format_exc()
        if not isinstance(exc, LostClaim):
            logger.error("%s failed: %s", run.job_id, message, exc_info=True)
        outcome = _record(job_cls, run, status, time.monotonic() - started, message, trace, captured, lock=lock)
        if not retrying.wanted(job_cls, exc):
            outcome = dataclasses.replace(outcome, retryable=False)
        return hooks.finished(outcome, error=exc)
    return hooks.finished(outcome, result=result)


def failure(job_cls: type[BaseCronJob], exc: BaseException) -> tuple[str, str]:
    """The status and message a run that raised ``exc`` (or was stopped with it) is recorded with."""
    if isinstance(exc, JobTimeout):
        return Status.TIMED_OUT, f"stopped after {job_cls.timeout}"
    if isinstance(exc, LostClaim):
        return Status.FAILED, f"lost its claim: {exc}"
    if isinstance(exc, LostLock):
        return Status.FAILED, f"stopped: {exc} (another process may have taken it); its work was rolled back"
    if isinstance(exc, SystemExit):
        return Status.FAILED, f"the job called sys.exit({exc.code!r})"
    return Status.FAILED, f"{type(exc).__name__}: {exc}"


def _record(
    job_cls: type[BaseCronJob],
    run: Run,
    status: str,
    duration: float = 0.0,
    message: str = "",
    trace: str = "",
    captured: Output | None = None,
    *,
    lock: locks.Lock | None = None,
    lock_error: str | None = None,
) -> Outcome:
    """Record how the run ended (after its work, outside its transaction), unless another
    process has recorded a newer verdict; then release ``lock`` (a database lock on the same
    database: in the same transaction)."""
    output = captured.getvalue() if captured is not None else ""
    database = router.db_for_write(Run)
    together = isinstance(lock, DatabaseLock) and lock.db == database
    with transaction.atomic(using=database) if together else nullcontext():
        recorded = Run.objects.finish(run, status, duration=duration, message=message, traceback=trace, output=output)
        if together:
            assert lock is not None
            lock.release()
    if not recorded:
        kept = status == Status.SUCCEEDED or not job_cls.atomic
        late = LATE_KEPT.format(status=Status(status).label) if kept else LATE_ROLLED_BACK
        verdict = Run.objects.record_late_end(run, late, duration=duration, traceback=trace, output=output)
        logger.error("%s %s: %s, but %s", run.job_id, run.slot.isoformat(), verdict, late)
    return _finished(job_cls, run, lock_error=lock_error)


#: What a job that hands its work off records (:mod:`cronjobs.engine.handoff`).
record = _record


def record_handed_off(
    job_cls: type[BaseCronJob], run: Run, backend: str, task_id: str, duration: float, message: str
) -> Outcome:
    """The run's work is enqueued as ``task_id``: handed off until the task's result is final."""
    if not Run.objects.hand_off(run, backend, task_id, duration=duration, message=message):
        verdict = Run.objects.record_late_end(run, f"{message} after that", duration=duration)
        logger.error("%s %s: %s, but its work was %s after that", run.job_id, run.slot.isoformat(), verdict, message)
    return _finished(job_cls, run)


def _finished(job_cls: type[BaseCronJob], run: Run, *, lock_error: str | None = None) -> Outcome:
    outcome = Outcome.of(run, lock_error=lock_error)
    logger.info("%s %s: %s in %.3fs %s", run.job_id, run.slot.isoformat(), run.status, outcome.duration, run.message)
    signals.send(signals.run_finished, job_cls, run=run, outcome=outcome)
    return outcome
