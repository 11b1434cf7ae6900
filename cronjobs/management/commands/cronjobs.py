"""``manage.py cronjobs SUBCOMMAND``: operating the jobs (see :mod:`cronjobs.management.subcommands`)."""

from __future__ import annotations

import difflib
import re
from typing import Any

from django.core.management import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from cronjobs import registry
from cronjobs.exceptions import CronJobsError
from cronjobs.management.subcommands import discover
from cronjobs.management.subcommands.base import EXIT_USAGE, Context
from cronjobs.ops import overview


class Command(BaseCommand):
    help = (
        "Operate the cron jobs: list, history, pause, resume, run, unlock, prune, forget, health, simulate; "
        "import-celery-beat."
    )

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        for subcommand in discover():
            subcommand.add_arguments(sub.add_parser(subcommand.name, help=subcommand.help))
            self.subcommands = {**getattr(self, "subcommands", {}), subcommand.name: subcommand}

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        error = parser.error

        def suggest(message: str) -> Any:
            typo = re.search(r"invalid choice: '([^']*)'", message)
            close = difflib.get_close_matches(typo[1], sorted(self.subcommands), n=1) if typo else []
            return error(f"{message}; did you mean {close[0]!r}?" if close else message)

        parser.error = suggest  # type: ignore[method-assign]
        return parser

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        registry.refresh()  # the stored schedules as they are now
        context = Context(timezone.now(), registry.get_jobs(), self.stdout, self.style)
        try:
            self.subcommands[subcommand].handle(context, **options)
        except overview.UnknownJob as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except CronJobsError as exc:
            raise CommandError(str(exc)) from None
        except DatabaseError as exc:
            # Before `migrate` (or with the database down): one line, as runcrons says it.
            text = " ".join(str(exc).split())
            hint = " (have you run `manage.py migrate`?)" if "cronjobs_" in text else ""
            raise CommandError(f"database error: {text[:300]}{hint}") from None
