"""``cronjobs health [--max-lag 5m] [--failing] [--json]``: exit 1 when jobs are late or runs are stuck.

For a Kubernetes liveness probe, a load balancer's health check or an outside monitor: exit 0
when every active job's next slot is within ``--max-lag`` of now and no run is stuck past its
lease; otherwise exit 1, naming the late jobs and the stuck runs (see :mod:`cronjobs.ops.health`).
``--failing`` also exits 1 for jobs whose last slot failed for good (no retry left).
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import Any

from django.core.management import CommandError
from django.db import DatabaseError

from cronjobs import words
from cronjobs.management.subcommands.base import Context, Subcommand, as_json
from cronjobs.ops import health, maintenance

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SPAN = re.compile(r"(\d+)([smhd])")


def duration(value: str) -> timedelta:
    """``90``, ``90s``, ``5m``, ``1h30m``, ``2d``: a positive span of time."""
    text = value.strip().lower()
    if text.isdigit():
        seconds = int(text)
    elif text and _SPAN.sub("", text) == "":
        seconds = sum(int(number) * _UNITS[unit] for number, unit in _SPAN.findall(text))
    else:
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration; use e.g. 90s, 5m, 1h30m or 2d")
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: use a duration above 0")
    return timedelta(seconds=seconds)


class Health(Subcommand):
    name = "health"
    help = (
        "Exit 1 when jobs are late (cron stopped?) or runs are stuck past their lease "
        "(--failing: or a job's last slot failed for good); else exit 0."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--max-lag",
            type=duration,
            default=timedelta(minutes=5),
            help="How long after its slot a job may still wait to run (default 5m; e.g. 90s, 10m, 1h).",
        )
        parser.add_argument(
            "--failing",
            action="store_true",
            help="Exit 1 too for jobs whose last slot failed for good (failed, timed out or crashed, no retry left).",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, context: Context, *, max_lag: timedelta, failing: bool, json: bool, **options: Any) -> None:
        try:
            report = health.check(context.jobs, context.now, max_lag, failing=failing)
        except DatabaseError as exc:  # unhealthy too, and said in one line rather than a traceback
            raise CommandError(f"unhealthy: the database cannot be read: {exc}", returncode=1) from None
        if json:
            context.stdout.write(as_json(report.as_dict()))
        else:
            self._write(context, report, verbose=options.get("verbosity", 1) >= 2)
        if not report.healthy:
            problems = [f"{job.code} ({job.state})" for job in report.late]
            problems += [f"run {run.run_id} of {run.code} (stuck)" for run in report.stuck]
            problems += [f"{job.code} (failing)" for job in report.failing]
            raise CommandError("unhealthy: " + ", ".join(problems), returncode=1)

    def _write(self, context: Context, report: health.Report, *, verbose: bool) -> None:
        out, style = context.stdout, context.style
        if report.maintenance is not None:
            out.write(style.WARNING(maintenance.banner(report.maintenance)))
        for job in report.late:
            if job.state == "unseen":
                out.write(style.ERROR(f"{job.code}: never seen by runcrons (is cron running it?)"))
            else:
                lag = health.words(job.lag or timedelta(0))
                slot = words.moment(job.next_slot, context.zone(job.code)) if job.next_slot else "?"
                out.write(style.ERROR(f"{job.code}: late, its slot {slot} came due {lag} ago"))
        for run in report.stuck:
            out.write(style.ERROR(f"{run.code}: run {run.run_id} ({run.host}/{run.pid}) is stuck: {run.reason}"))
        for job in report.failing:
            since = words.moment(job.failing_since, context.zone(job.code)) if job.failing_since else "?"
            out.write(style.ERROR(f"{job.code}: failing since {since} (its last slot failed, no retry left)"))
        if verbose:
            for job in report.jobs:
                if job.healthy:
                    out.write(f"{job.code}: {job.state}")
        if report.healthy:
            active = sum(job.state == "ok" for job in report.jobs)
            failing = ", none failing" if report.failing_counts else ""
            out.write(style.SUCCESS(f"healthy: {active} active job(s) within {health.words(report.max_lag)}{failing}"))
