"""The cost of one due cron job (claim, lock, the job's transaction with its fenced record,
retention), this tree beside another checkout, interleaved in one run.

    python benchmarks/bench_due.py [--jobs 300] [--repeats 5] [--passes 5] [--baseline DIR]
                                   [--dbs sqlite,postgresql,mysql] [--instructions]

Each sample: a fresh database, ``migrate``, ``--jobs`` trivial jobs that have run once, with
exactly one slot due, then ``--passes`` passes of ``Runner.run()``, a minute apart, measured
in-process (``bench_runcrons.py``'s ``due`` mode; the fastest pass counts):
milliseconds per job and SQL statements per job. SQLite runs in WAL mode with
``synchronous=NORMAL`` and the file lock; PostgreSQL and MariaDB (``--dbs ...,mysql``) with
the database lock and a persistent connection. With ``--baseline``, the samples of both trees
alternate, so that the noise of a shared machine falls on both alike; the ratio is this tree /
baseline (< 1: cheaper). Both trees are measured by this tree's ``bench_runcrons.py`` and
benchmark project. CPU is the runcrons process's own (``time.process_time``): less noisy than
wall time on a shared machine, and on PostgreSQL it leaves out the server's share.
``--instructions`` counts instead, under valgrind's callgrind, the instructions of runcrons in
the measured passes (one sample per tree, the same from run to run within 0.1%: the measure
for changes of a few percent on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def sample(root: Path, db: str, jobs: int, directory: Path, passes: int = 1, instructions: bool = False) -> dict:
    name = f"cronjobs_bench_due_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "BENCH_JOBS": str(jobs),
        "BENCH_PASSES": str(passes),
        "BENCH_SCHEDULE": "* * * * *",
        "BENCH_LOCK_DIR": str(directory / "locks"),
        "PYTHONPATH": _pythonpath(root, directory),
        "DJANGO_SETTINGS_MODULE": "benchmarks.project.settings",
    }
    if db == "postgresql":
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{name}"')
        env |= {"BENCH_DB": f"postgresql:{name}", "BENCH_LOCK": "database"}
    elif db == "mysql":
        _mysql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        env |= {"BENCH_DB": f"mysql:{name}", "BENCH_LOCK": "database"}
    else:
        env |= {"BENCH_DB": str(directory / f"{name}.sqlite3"), "BENCH_LOCK": "file"}
    try:
        migrate = [sys.executable, "-m", "django", "migrate", "-v0"]
        subprocess.run(migrate, env=env, cwd=directory, check=True, stdout=subprocess.DEVNULL)
        script = ROOT / "benchmarks" / "bench_runcrons.py"  # this tree's measure, whichever tree is measured
        command = [sys.executable, str(script), "--child", "due"]
        if instructions:  # counted in the measured passes only (bench_runcrons turns counting on and off)
            out_file = directory / f"{name}.callgrind"
            command = [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out_file}",
                *command,
            ]
            env["BENCH_CALLGRIND"] = "1"
        done = subprocess.run(command, env=env, cwd=directory, check=True, capture_output=True, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if instructions:
            refs = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
            assert refs is not None, done.stderr[-2000:]
            result["instructions_per_job"] = int(refs.group(1).replace(",", "")) / jobs / passes
        return result
    finally:
        if db == "postgresql":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:  # type: ignore[arg-type]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        elif db == "mysql":
            _mysql(f"DROP DATABASE IF EXISTS `{name}`")


def _pythonpath(root: Path, directory: Path) -> str:
    """This tree's benchmark project (settings, jobs) with the ``cronjobs`` of ``root``."""
    if root == ROOT:
        return str(ROOT)
    overlay = directory / "overlay"
    overlay.mkdir(exist_ok=True)
    if not (overlay / "benchmarks").exists():
        (overlay / "benchmarks").symlink_to(ROOT / "benchmarks")
    return f"{overlay}{os.pathsep}{root}"


def _mysql(statement: str) -> None:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    try:
        conn.cursor().execute(statement)
    finally:
        conn.close()


LOCKS = {"sqlite": "WAL, file lock", "postgresql": "database lock", "mysql": "database lock"}


def report_instructions(args: argparse.Namespace, found: dict[tuple[str, str], list[dict]]) -> None:
    print(f"{args.jobs} trivial jobs all due, {args.passes} passes: instructions of runcrons per due job (callgrind)\n")
    print("| database, lock | tree | instructions per job | statements per job |\n|---|---|---:|---:|")
    for (db, label), (result,) in found.items():
        print(
            f"| {db}, {LOCKS[db]} | {label} | {result['instructions_per_job']:,.0f} | {result['queries_per_job']:.1f} |"
        )
    if args.baseline:
        print("\n| database | this tree / baseline |\n|---|---:|")
        for db in args.dbs.split(","):
            mine, theirs = found[(db, "this tree")][0], found[(db, "baseline")][0]
            print(f"| {db} | {mine['instructions_per_job'] / theirs['instructions_per_job']:.3f}x |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--passes", type=int, default=5, help="measured passes per sample; the fastest counts")
    parser.add_argument("--dbs", default="sqlite,postgresql")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count the instructions of runcrons per due job under valgrind's callgrind instead of timing "
        "(repeatable on a busy machine; the database server's share is not counted)",
    )
    parser.add_argument("--baseline", help="another checkout of this project, measured interleaved with this one")
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    if args.baseline:
        trees["baseline"] = Path(args.baseline).resolve()
    found: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as directory:
        if args.instructions:
            for db in args.dbs.split(","):
                for label, root in trees.items():
                    result = sample(root, db, args.jobs, Path(directory), args.passes, instructions=True)
                    found[(db, label)] = [result]
                    print(f"  {db}, {label}: {result['instructions_per_job']:,.0f} instructions/job", file=sys.stderr)
            report_instructions(args, found)
            return 0
        for db in args.dbs.split(","):  # discarded: the first processes of a tree pay for cold caches
            for root in trees.values():
                sample(root, db, 20, Path(directory))
        for _ in range(args.repeats):
            for db in args.dbs.split(","):
                for label, root in trees.items():
                    result = sample(root, db, args.jobs, Path(directory), args.passes)
                    found.setdefault((db, label), []).append(result)
                    print(
                        f"  {db}, {label}: {result['ms_per_job']:.3f} ms/job, CPU {result['cpu_ms_per_job']:.3f}",
                        file=sys.stderr,
                    )
    print(
        f"{args.jobs} trivial jobs all due, median of {args.repeats} samples, each the fastest of "
        f"{args.passes} passes (interleaved, one run)\n"
    )
    print(
        "| database, lock | tree | per job (median; min-max) | CPU of runcrons per job (median) | statements per job |"
    )
    print("|---|---|---:|---:|---:|")
    medians, cpus = {}, {}
    for (db, label), results in found.items():
        times = [r["ms_per_job"] for r in results]
        medians[(db, label)] = statistics.median(times)
        cpus[(db, label)] = statistics.median(r["cpu_ms_per_job"] for r in results)
        print(
            f"| {db}, {LOCKS[db]} | {label} | {medians[(db, label)]:.3f} ms ({min(times):.3f}-{max(times):.3f}) | "
            f"{cpus[(db, label)]:.3f} ms | {results[0]['queries_per_job']:.1f} |"
        )
    if args.baseline:
        print("\n| database | this tree / baseline | CPU: this tree / baseline |\n|---|---:|---:|")
        for db in args.dbs.split(","):
            ratio = medians[(db, "this tree")] / medians[(db, "baseline")]
            print(f"| {db} | {ratio:.2f}x | {cpus[(db, 'this tree')] / cpus[(db, 'baseline')]:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
