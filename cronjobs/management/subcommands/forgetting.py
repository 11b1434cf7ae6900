"""``cronjobs forget CODE... [--yes]``: delete the state and runs of jobs that are no longer in code."""

from __future__ import annotations

from typing import Any

from cronjobs.management.subcommands.base import Context, Subcommand, actor, confirm
from cronjobs.ops import actions, overview


class Forget(Subcommand):
    name = "forget"
    help = "Delete the records (state and runs) of jobs no longer in code (after confirmation)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("codes", metavar="CODE", nargs="+")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, context: Context, *, codes: list[str], yes: bool, **options: Any) -> None:
        codes = list(dict.fromkeys(overview.find_code(code, context.jobs, recorded=True) for code in codes))
        actions.refuse_registered(codes, context.jobs)
        names = ", ".join(codes)
        question = f"Delete the state and every run of {names}?"
        refusal = f"{names}: add --yes to delete their state and runs without a prompt"
        if not confirm(question, refusal=refusal, yes=yes):
            context.stdout.write("Left as it is.")
            return
        forgotten = actions.forget(codes, context.jobs, actor(), context.now)
        context.stdout.write(f"Forgotten: {', '.join(forgotten)}." if forgotten else "Nothing to forget.")
