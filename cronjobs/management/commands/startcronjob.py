"""``manage.py startcronjob APP NAME``: add a job class to an app's ``cron.py`` from the scaffold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management import BaseCommand, CommandError

from cronjobs import registry
from cronjobs.install import scaffold


class Command(BaseCommand):
    help = "Add a job class NAME to APP's cron.py (created when missing), rendered from management_templates/."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("app", metavar="APP", help="Label of an installed app.")
        parser.add_argument("name", metavar="NAME", help="Class name of the job, e.g. RefreshPrices.")
        parser.add_argument(
            "--schedule",
            default=scaffold.DEFAULT_SCHEDULE,
            help=f"Cron expression or nickname (default: {scaffold.DEFAULT_SCHEDULE}).",
        )

    def handle(self, *, app: str, name: str, schedule: str, **options: Any) -> None:
        try:
            config = apps.get_app_config(app)
        except LookupError:
            labels = ", ".join(sorted(c.label for c in apps.get_app_configs()))
            raise CommandError(f"no installed app with label {app!r}; installed: {labels}", returncode=2) from None
        try:
            done = scaffold.add_job(
                config.label,
                Path(config.path),
                name,
                schedule=schedule,
                taken={job.get_code() for job in registry.discover().classes},
            )
        except scaffold.ScaffoldError as exc:
            raise CommandError(str(exc), returncode=2) from None
        registry.reset()
        verb = "Created" if done.created else "Added to"
        self.stdout.write(f"{verb} {done.path}: class {done.class_name} (code {done.code!r}, schedule {schedule!r}).")
