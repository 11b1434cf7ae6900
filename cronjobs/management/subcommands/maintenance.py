"""``cronjobs pause --all`` / ``resume --all``: maintenance mode, one switch for every job.

Not a subcommand of its own: the ``--all`` flag of ``pause`` and ``resume`` (see acting.py).
"""

from __future__ import annotations

from typing import Any

from django.core.management import CommandError

from cronjobs import words
from cronjobs.management.subcommands.base import EXIT_USAGE, Context, actor
from cronjobs.ops import maintenance


def maintenance_arguments(parser: Any) -> None:
    parser.add_argument("codes", metavar="CODE", nargs="*")
    parser.add_argument(
        "--all",
        action="store_true",
        dest="every",
        help="Every job: maintenance mode (jobs with run_in_maintenance = True go on running).",
    )


def every_job(codes: list[str], every: bool) -> bool:
    """Whether the command is about every job (``--all``); a usage error for both or neither."""
    if every and codes:
        raise CommandError("give jobs' CODEs or --all, not both", returncode=EXIT_USAGE)
    if not every and not codes:
        raise CommandError("give one or more jobs' CODEs, or --all for maintenance mode", returncode=EXIT_USAGE)
    return every


def pause_all(context: Context) -> None:
    jobs = list(context.jobs.values())
    if maintenance.turn_on(jobs, actor(), context.now):
        kept = sorted(job.get_code() for job in jobs if job.run_in_maintenance)
        context.stdout.write(
            "Maintenance mode on: no job runs until `manage.py cronjobs resume --all`"
            + (f", except those with run_in_maintenance = True: {', '.join(kept)}." if kept else ".")
        )
    else:
        context.stdout.write("Maintenance mode was on already.")


def resume_all(context: Context) -> None:
    switch = maintenance.turn_off(context.jobs.values(), actor(), context.now)
    if switch is None:
        context.stdout.write("Maintenance mode is not on.")
    else:
        context.stdout.write(
            f"Maintenance mode off (on since {words.moment(switch.since)}); every job runs again from now on, "
            "the slots in between skipped. Jobs paused one by one stay paused."
        )
