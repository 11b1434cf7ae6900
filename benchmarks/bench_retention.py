"""KEEP_RUNS under a job that runs every minute for a simulated year.

Drives the real ``Runner`` minute by minute (the clock is a parameter) against a SQLite file,
with ``KEEP_RUNS = {"count": 1000}``, and reports at checkpoints: rows in the run table, the
queries one runcrons pass makes, and the median time of a pass over the last stretch.
The claims: the table stays within the bound, and a pass costs the same in month 12 as in
month 1. ``--minutes N`` simulates a shorter stretch (default: 525600, one year).

    .venv/bin/python benchmarks/bench_retention.py [--minutes N] [--keep N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=525_600)
    parser.add_argument("--keep", type=int, default=1000)
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="bench-retention-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        CRONJOBS_TEST_DB_NAME=str(Path(directory) / "bench.sqlite3"),
        CRONJOBS_TEST_LOCK_DIR=str(Path(directory) / "locks"),
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cronjobs import BaseCronJob
    from cronjobs.models import Run
    from cronjobs.runner import Runner

    settings.CRONJOBS = {**settings.CRONJOBS, "KEEP_RUNS": {"count": args.keep}}
    from cronjobs import conf

    conf.get_settings.cache_clear()
    call_command("migrate", verbosity=0)

    class EveryMinute(BaseCronJob):
        schedule = "* * * * *"
        code = "bench.every_minute"

        def run(self) -> str:
            return "ok"

    jobs = {EveryMinute.code: EveryMinute}
    start = datetime(2026, 1, 1, 0, 0, 30, tzinfo=timezone.utc)
    checkpoints = sorted(
        {m for m in (60, 1440, 10_080, 43_200, 131_400, 262_800, 394_200, args.minutes) if m <= args.minutes}
    )
    print(f"KEEP_RUNS = {{'count': {args.keep}}}; one job, schedule '* * * * *'; SQLite file; {args.minutes} minutes\n")
    print("| simulated time | runcrons passes | rows in run table | queries per pass | median pass (ms), last 1000 |")
    print("|---|---:|---:|---:|---:|")
    durations: list[float] = []
    began = time.monotonic()
    for minute in range(args.minutes + 1):
        now = start + timedelta(minutes=minute)
        if minute in checkpoints:
            with CaptureQueriesContext(connection) as queries:
                Runner(jobs, now=now).run()
            rows = Run.objects.count()
            median = statistics.median(durations[-1000:]) * 1000 if durations else 0.0
            days = minute / 1440
            label = f"{minute} min" if minute < 1440 else f"{days:.0f} days"
            print(f"| {label} | {minute} | {rows} | {len(queries.captured_queries)} | {median:.2f} |", flush=True)
            assert rows <= args.keep, f"run table grew past KEEP_RUNS: {rows}"
            continue
        t = time.perf_counter()
        Runner(jobs, now=now).run()
        durations.append(time.perf_counter() - t)
    print(f"\nwall time {time.monotonic() - began:.0f} s for {args.minutes} passes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
