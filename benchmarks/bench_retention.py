"""KEEP_RUNS under a job that runs every minute for a simulated year.

Drives the real ``Runner`` minute by minute (the clock is a parameter) against a SQLite file
(on /dev/shm where there is one, so that the disk's fsync latency does not drown the figures),
with ``KEEP_RUNS = {"count": 1000}``, and reports at checkpoints: rows in the run table, the
queries one runcrons pass makes, and the time of a pass (median, mean, 99th percentile) over
the stretch since the previous checkpoint.
The claims: the table stays within the bound, and a pass costs the same in month 12 as in
month 1. ``--minutes N`` simulates a shorter stretch (default: 525600, one year).

    .venv/bin/python benchmarks/bench_retention.py [--minutes N] [--keep N]
"""

from __future__ import annotations

import argparse
import os
import shutil
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

    shm = Path("/dev/shm")
    directory = tempfile.mkdtemp(prefix="bench-retention-", dir=shm if shm.is_dir() else None)
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
    from cronjobs.engine.runner import Runner
    from cronjobs.models import Run

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
    print(f"database: {os.environ['CRONJOBS_TEST_DB_NAME']}\n")
    print("| simulated time | runcrons passes | rows in run table | queries per pass | pass median (ms) | mean | p99 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    durations: list[float] = []
    began = time.monotonic()
    for minute in range(args.minutes + 1):
        now = start + timedelta(minutes=minute)
        if minute in checkpoints:
            with CaptureQueriesContext(connection) as queries:
                Runner(jobs, now=now).run()
            rows = Run.objects.count()
            stretch = sorted(durations) or [0.0]
            median = statistics.median(stretch) * 1000
            mean = statistics.fmean(stretch) * 1000
            p99 = stretch[int(len(stretch) * 0.99)] * 1000
            label = f"{minute} min" if minute < 1440 else f"{minute / 1440:.0f} days"
            count = len(queries.captured_queries)
            print(f"| {label} | {minute} | {rows} | {count} | {median:.2f} | {mean:.2f} | {p99:.2f} |", flush=True)
            assert rows <= args.keep, f"run table grew past KEEP_RUNS: {rows}"
            durations = []
            continue
        t = time.perf_counter()
        Runner(jobs, now=now).run()
        durations.append(time.perf_counter() - t)
    print(f"\nwall time {time.monotonic() - began:.0f} s for {args.minutes} passes")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        shutil.rmtree(os.environ.get("CRONJOBS_TEST_DB_NAME", "/nonexistent/x").rsplit("/", 1)[0], ignore_errors=True)
