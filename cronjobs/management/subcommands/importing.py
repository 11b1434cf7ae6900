"""``cronjobs import-celery-beat [--dry-run] [--database ALIAS]``: django-celery-beat's periodic
tasks copied into stored schedules (see :mod:`cronjobs.peers.celerybeat`).

Exit 0 when every periodic task was imported whole, 1 when one could not be (or only in part),
each named with the reason; 2 for bad usage (django_celery_beat not installed, unknown alias).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.apps import apps
from django.core.management import CommandError
from django.db import connections, router

from cronjobs.management.subcommands.base import EXIT_USAGE, Context, Subcommand, one_line
from cronjobs.peers import celerybeat

MARKS = {"created": "+", "changed": "~", "unchanged": "=", "skipped": "!"}


class ImportCeleryBeat(Subcommand):
    name = "import-celery-beat"
    help = "Copy django-celery-beat's periodic tasks into stored schedules, and say what could not be mapped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Say what would be imported; write nothing.")
        parser.add_argument(
            "--database",
            metavar="ALIAS",
            help="The database that holds django-celery-beat's tables (default: where its router reads them).",
        )

    def handle(self, context: Context, *, dry_run: bool, database: str | None, **options: Any) -> None:
        if not celerybeat.installed():
            raise CommandError(
                f"{celerybeat.APP} is not in INSTALLED_APPS: its periodic tasks are read through its models; "
                "import them before removing the app",
                returncode=EXIT_USAGE,
            )
        if database is not None and database not in connections:
            known = ", ".join(connections)
            raise CommandError(f"--database {database!r}: no such database (known: {known})", returncode=EXIT_USAGE)
        alias = database or router.db_for_read(apps.get_model(celerybeat.APP, "PeriodicTask"))
        report = celerybeat.run(alias, dry_run, context.now)
        write = context.stdout.write
        if not report.outcomes:
            write(f"No periodic task in django-celery-beat's tables (database {alias!r}).")
            return
        labels = {"created": "created", "changed": "changed", "unchanged": "unchanged", "skipped": "not imported"}
        if dry_run:
            labels |= {"created": "would be created", "changed": "would be changed"}
        for outcome in report.outcomes:
            target = f" -> {outcome.code}" if outcome.code else ""
            said = f"{labels[outcome.status]}: {outcome.detail}"
            line = f"{MARKS[outcome.status]} {outcome.periodic_task!r}{target}: {said}"
            write(one_line(line, 400), context.style.ERROR if outcome.status == "skipped" else None)
            for left in outcome.left_behind:
                write("    " + one_line(f"left behind: {left}", 400), context.style.WARNING)
        counts = Counter(outcome.status for outcome in report.outcomes)
        summary = ", ".join(f"{counts[status]} {label}" for status, label in labels.items() if counts[status])
        partial = sum(outcome.status != "skipped" and bool(outcome.left_behind) for outcome in report.outcomes)
        if partial:
            summary += f", {partial} with options left behind"
        write(f"{len(report.outcomes)} periodic tasks: {summary}." + (" Dry run: nothing written." if dry_run else ""))
        if not report.complete:
            raise CommandError("some periodic tasks could not be mapped, or not all of them (above)", returncode=1)
