"""Maintenance mode as people use it: ``cronjobs pause --all`` / ``resume --all``, the list, the admin.

The switch itself is :class:`~cronjobs.models.maintenance.Maintenance`; this module adds the
record of who flipped it (an Action on the job code ``"*"``, meaning every job) and the words
the list, the admin and health checks show.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cronjobs import words
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Action, Job, Maintenance

#: The job code maintenance-mode actions are recorded under: every job.
EVERY_JOB = "*"


def current() -> Maintenance | None:
    """The switch when maintenance mode is on, else None."""
    return Maintenance.objects.current()


def turn_on(jobs: Iterable[type[BaseCronJob]], actor: str, now: datetime) -> bool:
    """Hold every job not marked ``run_in_maintenance``; False when maintenance mode was on already."""
    jobs = list(jobs)
    Job.objects.ensure({job.get_code(): job for job in jobs}, now)
    changed = Maintenance.objects.turn_on(actor, now)
    if changed:
        kept = ", ".join(sorted(job.get_code() for job in jobs if job.run_in_maintenance)) or "none"
        Action.objects.record(EVERY_JOB, Action.Kind.PAUSE, actor, now, f"maintenance mode on; still running: {kept}")
    return changed


def turn_off(jobs: Iterable[type[BaseCronJob]], actor: str, now: datetime) -> Maintenance | None:
    """Run every job again from ``now`` on (slots during maintenance skipped); None when it was off."""
    switch = Maintenance.objects.turn_off(jobs, now)
    if switch is not None:
        detail = (
            f"maintenance mode off (on since {words.moment(switch.since)}); slots up to {words.moment(now)} skipped"
        )
        Action.objects.record(EVERY_JOB, Action.Kind.RESUME, actor, now, detail)
    return switch


def held(job: type[BaseCronJob] | None, switch: Maintenance | None) -> bool:
    """Whether maintenance mode keeps ``job`` from running."""
    return switch is not None and job is not None and not job.run_in_maintenance


def banner(switch: Maintenance) -> str:
    """One line saying that maintenance mode is on, since when and by whom."""
    return (
        f"Maintenance mode since {words.moment(switch.since)} by {switch.actor or '?'}: only jobs with "
        "run_in_maintenance = True run. Turn it off with `manage.py cronjobs resume --all`."
    )
