"""What a person can do to a job: pause, resume, run now, unlock, forget; add, change, enable,
disable or delete a stored schedule. Each is recorded as an Action.

Used by ``manage.py cronjobs`` and by the admin; ``actor`` says who (a user name, or
``user@host`` on the command line). The state changes themselves are the models' own
(:class:`~cronjobs.models.jobs.JobQuerySet`); this module adds the record and the lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import router, transaction

from cronjobs import words
from cronjobs.exceptions import CronJobsError, LockError
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Action, Job, StoredSchedule
from cronjobs.ops import overview


def _atomic() -> transaction.Atomic:
    return transaction.atomic(using=router.db_for_write(Job))


def pause(job: type[BaseCronJob], actor: str, now: datetime) -> bool:
    """Stop running the job's slots until it is resumed; False if it was paused already."""
    code = job.get_code()
    with _atomic():
        Job.objects.ensure({code: job}, now)
        changed = Job.objects.pause(code)
        StoredSchedule.objects.set_enabled(code, False)  # a stored schedule's job: disabled is paused
        if changed:
            Action.objects.record(code, Action.Kind.PAUSE, actor, now)
    return changed


def resume(job: type[BaseCronJob], actor: str, now: datetime) -> bool:
    """Run the job's slots again from ``now`` on: those missed while paused are skipped, like
    for a new job (no catch-up, no missed records). False if it was not paused."""
    code = job.get_code()
    with _atomic():
        Job.objects.ensure({code: job}, now)
        changed = Job.objects.resume(job, now)
        StoredSchedule.objects.set_enabled(code, True)
        if changed:
            Action.objects.record(code, Action.Kind.RESUME, actor, now, f"slots up to {words.moment(now)} skipped")
    return changed


def request_run(job: type[BaseCronJob], actor: str, now: datetime) -> None:
    """Have the next runcrons run the job once, as a forced run (even when paused or not due)."""
    code = job.get_code()
    with _atomic():
        Job.objects.ensure({code: job}, now)
        Job.objects.request_run(code, now)
        Action.objects.record(code, Action.Kind.RUN_NOW, actor, now, "runs at the next runcrons")


def unlock(job: type[BaseCronJob], actor: str, now: datetime) -> str | None:
    """Break the job's lock; returns the holder it took the lock from, or None if it was free.

    Raises :class:`~cronjobs.exceptions.LockError` when the backend cannot break locks.
    """
    code = job.get_code()
    try:
        holder = overview.get_lock(job).break_lock()
    except NotImplementedError:
        raise LockError(f"the {job.get_lock_name()!r} lock backend cannot break locks") from None
    if holder is not None:
        Action.objects.record(code, Action.Kind.UNLOCK, actor, now, f"lock was held by {holder}")
    return holder


def refuse_registered(codes: list[str], registered: dict[str, type[BaseCronJob]]) -> None:
    """:class:`~cronjobs.exceptions.CronJobsError` when any of ``codes`` is still registered."""
    still = sorted(code for code in codes if code in registered)
    if still:
        raise CronJobsError(
            f"{', '.join(still)}: still registered; remove the job from code first "
            "(to stop it for now, pause it instead)"
        )


def forget(codes: list[str], registered: dict[str, type[BaseCronJob]], actor: str, now: datetime) -> list[str]:
    """Delete the state and runs of jobs no longer in code; returns the codes forgotten.

    Refuses (:class:`~cronjobs.exceptions.CronJobsError`) a code that is still registered:
    runcrons would only see it again. Codes without a row are left out of the result.
    """
    refuse_registered(codes, registered)
    with _atomic():
        known = sorted(Job.objects.filter(code__in=codes).values_list("code", flat=True))
        Job.objects.forget(known)
        for code in known:
            Action.objects.record(code, Action.Kind.FORGET, actor, now, "state and runs deleted")
    return known


# -- stored schedules ---------------------------------------------------------------------------

#: The fields of a stored schedule an Action's detail speaks of, in this order.
SCHEDULE_FIELDS = ("task", "command", "args", "kwargs", "schedule", "interval", "timezone", "description")


def save_schedule(row: StoredSchedule, was: dict[str, Any] | None, actor: str, now: datetime) -> None:
    """Save a stored schedule, validated (:meth:`StoredSchedule.clean`) by the caller, and record
    it: added, or changed (each field from what it ``was``); enabling or disabling it is a resume
    or a pause of its job. The next ``runcrons`` runs it as it is now."""
    with transaction.atomic(using=router.db_for_write(StoredSchedule)):
        row.save()
        if was is None:
            Action.objects.record(row.code, Action.Kind.ADD, actor, now, _describe(row))
            if not row.enabled:
                Action.objects.record(row.code, Action.Kind.PAUSE, actor, now, "added disabled")
            return
        changes = [f"{name}: {was[name]!r} -> {getattr(row, name)!r}" for name in _changed(row, was)]
        if was.get("name") not in (None, row.name):
            changes.insert(0, f"renamed from db.{was['name']}")
        if changes:
            Action.objects.record(row.code, Action.Kind.CHANGE, actor, now, "; ".join(changes))
        if was.get("enabled") and not row.enabled:
            Action.objects.record(row.code, Action.Kind.PAUSE, actor, now, "disabled")
        elif was.get("enabled") is False and row.enabled:
            Action.objects.record(
                row.code, Action.Kind.RESUME, actor, now, f"enabled; slots up to {words.moment(now)} skipped"
            )


def set_schedule_enabled(row: StoredSchedule, enabled: bool, actor: str, now: datetime) -> bool:
    """Enable or disable a stored schedule (resume or pause its job); False if it was so already."""
    if row.enabled == enabled:
        return False
    was = schedule_state(row)
    row.enabled = enabled
    save_schedule(row, was, actor, now)
    return True


def delete_schedule(row: StoredSchedule, actor: str, now: datetime) -> None:
    """Delete a stored schedule: its job is gone at the next ``runcrons``; its runs are kept
    (``cronjobs forget db.<name>`` deletes them)."""
    with transaction.atomic(using=router.db_for_write(StoredSchedule)):
        code, detail = row.code, _describe(row)
        row.delete()
        Action.objects.record(code, Action.Kind.DELETE, actor, now, detail)


def schedule_state(row: StoredSchedule) -> dict[str, Any]:
    """What :func:`save_schedule` compares with: the row's fields as they are now."""
    return {name: getattr(row, name) for name in ("name", "enabled", *SCHEDULE_FIELDS)}


def _changed(row: StoredSchedule, was: dict[str, Any]) -> list[str]:
    return [name for name in SCHEDULE_FIELDS if name in was and was[name] != getattr(row, name)]


def _describe(row: StoredSchedule) -> str:
    what = f"task {row.task}" if row.task else f"command {row.command}"
    when = f"schedule {row.schedule!r}" if row.schedule else f"every {row.interval}"
    zone = f" ({row.timezone})" if row.timezone else ""
    return f"{what} args={row.args!r} kwargs={row.kwargs!r}, {when}{zone}"
