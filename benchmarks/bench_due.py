"""The cost of one due cron job (claim, lock, the job's transaction with its fenced record,
retention), this tree beside another checkout, interleaved in one run.

    python benchmarks/bench_due.py [--jobs 300] [--repeats 5] [--baseline DIR]
                                   [--dbs sqlite,postgresql]

Each sample: a fresh database, ``migrate``, ``--jobs`` trivial jobs with exactly one slot
due, then one ``Runner.run()`` measured in-process (``bench_runcrons.py``'s ``due`` mode):
milliseconds per job and SQL statements per job. SQLite runs in WAL mode with
``synchronous=NORMAL`` and the file lock; PostgreSQL with the database lock and a persistent
connection. With ``--baseline``, the samples of both trees alternate, so that the noise of a
shared machine falls on both alike; the ratio is this tree / baseline (< 1: cheaper).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def sample(root: Path, db: str, jobs: int, directory: Path) -> dict:
    name = f"cronjobs_bench_due_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "BENCH_JOBS": str(jobs),
        "BENCH_SCHEDULE": "* * * * *",
        "BENCH_LOCK_DIR": str(directory / "locks"),
        "PYTHONPATH": str(root),
        "DJANGO_SETTINGS_MODULE": "benchmarks.project.settings",
    }
    if db == "postgresql":
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{name}"')
        env |= {"BENCH_DB": f"postgresql:{name}", "BENCH_LOCK": "database"}
    else:
        env |= {"BENCH_DB": str(directory / f"{name}.sqlite3"), "BENCH_LOCK": "file"}
    try:
        manage = [sys.executable, str(root / "benchmarks" / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, stdout=subprocess.DEVNULL)
        script = root / "benchmarks" / "bench_runcrons.py"
        out = subprocess.run(
            [sys.executable, str(script), "--child", "due"], env=env, check=True, capture_output=True, text=True
        ).stdout
        return json.loads(out.strip().splitlines()[-1])
    finally:
        if db == "postgresql":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:  # type: ignore[arg-type]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dbs", default="sqlite,postgresql")
    parser.add_argument("--baseline", help="another checkout of this project, measured interleaved with this one")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    if args.baseline:
        trees["baseline"] = Path(args.baseline).resolve()
    found: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for db in args.dbs.split(","):  # discarded: the first processes of a tree pay for cold caches
            for root in trees.values():
                sample(root, db, 20, Path(directory))
        for _ in range(args.repeats):
            for db in args.dbs.split(","):
                for label, root in trees.items():
                    result = sample(root, db, args.jobs, Path(directory))
                    found.setdefault((db, label), []).append(result)
                    print(f"  {db}, {label}: {result['ms_per_job']:.3f} ms/job", file=sys.stderr)
    print(f"{args.jobs} trivial jobs all due, median of {args.repeats} (interleaved, one run)\n")
    print("| database, lock | tree | per job (median; min-max) | statements per job |")
    print("|---|---|---:|---:|")
    medians = {}
    for (db, label), results in found.items():
        times = [r["ms_per_job"] for r in results]
        medians[(db, label)] = statistics.median(times)
        lock = "database lock" if db == "postgresql" else "WAL, file lock"
        print(
            f"| {db}, {lock} | {label} | {medians[(db, label)]:.3f} ms ({min(times):.3f}-{max(times):.3f}) | "
            f"{results[0]['queries_per_job']:.1f} |"
        )
    if args.baseline:
        print("\n| database | this tree / baseline |\n|---|---:|")
        for db in args.dbs.split(","):
            print(f"| {db} | {medians[(db, 'this tree')] / medians[(db, 'baseline')]:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
