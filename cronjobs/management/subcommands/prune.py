"""``cronjobs prune``: apply ``CRONJOBS["KEEP_RUNS"]`` to every job now."""

from __future__ import annotations

from typing import Any

from cronjobs.management.subcommands.base import Context, Subcommand
from cronjobs.ops import retention


class Prune(Subcommand):
    name = "prune"
    help = "Apply CRONJOBS['KEEP_RUNS'] to every job now."

    def handle(self, context: Context, **options: Any) -> None:
        keep = retention.policy()
        if keep.keeps_all:
            context.stdout.write("CRONJOBS['KEEP_RUNS'] is None: all runs are kept.")
            return
        deleted = retention.prune_all(context.now, keep)
        for code, count in deleted.items():
            if count and options["verbosity"] >= 2:
                context.stdout.write(f"{code}: {count} run(s) deleted")
        context.stdout.write(f"{sum(deleted.values())} run(s) deleted (keeping {_policy_words(keep)}).")


def _policy_words(keep: retention.Policy) -> str:
    parts = []
    if keep.count is not None:
        parts.append(f"the newest {keep.count} per job")
    if keep.age is not None:
        parts.append(f"runs of the last {keep.age}")
    return " and only ".join(parts)
