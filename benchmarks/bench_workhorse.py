"""The work horse: what starting one costs, what a job costs in a reused one, and its memory.

    python benchmarks/bench_workhorse.py [--runs 20]

On SQLite (WAL, file lock), in one Django process set up as runcrons is (the benchmark project,
one trivial job): the time from forking a work horse to its first job's outcome (its start:
fork, its database connection, the job), the time of one more job in the same work horse (the
round trip a reused work horse costs, the job included), and the work horse's memory after a
job: its resident set (RSS) and its proportional share (PSS: the pages it shares with
runcrons after the fork counted in part), from ``/proc/PID/smaps_rollup``. Medians of
``--runs`` starts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(runs: int) -> None:
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from cronjobs import registry
    from cronjobs.engine import leases, supervisor
    from cronjobs.engine.runner import Runner
    from cronjobs.models import Run

    call_command("migrate", verbosity=0)
    jobs = registry.get_jobs()
    job = next(iter(jobs.values()))
    Runner(jobs, now=timezone.now()).run()  # first seen
    leases.get().pumped = True
    supervisor.know(jobs)
    starts, reused, rss, pss = [], [], [], []
    slot = timezone.now() - timedelta(days=1)
    for _run in range(runs):
        with supervisor.session():
            runs_of = []
            for _ in range(2):
                slot += timedelta(seconds=1)
                run = Run.objects.claim(job.get_code(), slot, 1, lease=job.lock_ttl, forced=True)
                assert run is not None
                begin = time.perf_counter()
                outcome = supervisor.execute(job, run)
                runs_of.append(time.perf_counter() - begin)
                assert outcome.status == "succeeded", outcome
            starts.append(runs_of[0])
            reused.append(runs_of[1])
            memory = _memory(supervisor.work_horse().pid)
            rss.append(memory["Rss"])
            pss.append(memory["Pss"])
    print(
        json.dumps(
            {
                "start_ms": statistics.median(starts) * 1000,
                "reused_ms": statistics.median(reused) * 1000,
                "rss_mib": statistics.median(rss) / 1024,
                "pss_mib": statistics.median(pss) / 1024,
                "runcrons_rss_mib": _memory(os.getpid())["Rss"] / 1024,
            }
        )
    )


def _memory(pid: int) -> dict[str, int]:
    """kB, from /proc/PID/smaps_rollup."""
    found = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                found[parts[0][:-1]] = int(parts[1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        _child(args.runs)
        return
    with tempfile.TemporaryDirectory() as directory:
        env = {
            **os.environ,
            "BENCH_DB": str(Path(directory) / "bench.sqlite3"),
            "BENCH_JOBS": "1",
            "BENCH_SCHEDULE": "0 3 * * *",
            "BENCH_LOCK_DIR": str(Path(directory) / "locks"),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "benchmarks.project.settings",
        }
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--runs", str(args.runs)],
            env=env,
            cwd=directory,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    found = json.loads(out.strip().splitlines()[-1])
    print("| measure (SQLite WAL, file lock, one trivial job) | median |\n|---|---:|")
    print(f"| fork a work horse and run its first job | {found['start_ms']:.1f} ms |")
    print(f"| one more job in the same work horse | {found['reused_ms']:.2f} ms |")
    print(f"| work horse after a job: RSS | {found['rss_mib']:.1f} MiB |")
    print(f"| work horse after a job: PSS (shared pages counted in part) | {found['pss_mib']:.1f} MiB |")
    print(f"| runcrons itself: RSS | {found['runcrons_rss_mib']:.1f} MiB |")


if __name__ == "__main__":
    main()
