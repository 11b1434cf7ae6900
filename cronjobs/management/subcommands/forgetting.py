"""``cronjobs forget CODE...``: delete the state and runs of jobs that are no longer in code."""

from __future__ import annotations

from typing import Any

from cronjobs.management.subcommands.base import Context, Subcommand, actor
from cronjobs.ops import actions, overview


class Forget(Subcommand):
    name = "forget"
    help = "Delete the records (state and runs) of jobs no longer in code."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("codes", metavar="CODE", nargs="+")

    def handle(self, context: Context, *, codes: list[str], **options: Any) -> None:
        for code in codes:
            overview.find_code(code, context.jobs, recorded=True)
        forgotten = actions.forget(codes, context.jobs, actor(), context.now)
        context.stdout.write(f"Forgotten: {', '.join(forgotten)}." if forgotten else "Nothing to forget.")
