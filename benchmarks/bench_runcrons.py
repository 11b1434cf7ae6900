"""runcrons' fixed cost and per-job cost (issue: the core).

1. Nothing due: whole-process time of ``manage.py runcrons`` with 0 and with 1,000 registered
   jobs beside ``manage.py version`` (Django's start-up floor; median of interleaved runs), and
   the SQL queries a pass makes.
2. N trivial jobs all due: the cost per job (claim, lock, transaction, record) on SQLite (WAL)
   at N = 100 and 1,000, measured in-process around ``Runner.run()``, in the steady state: each
   job has run once before (its lock file or lock row exists, it has a record to keep).
3. History: 1,000,000 old run records change neither the query count nor the time of a pass.

    python benchmarks/bench_runcrons.py [--runs 9]
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
MANAGE = ROOT / "benchmarks" / "manage.py"


def env_for(db: str, jobs: int, schedule: str = "0 3 * * *") -> dict[str, str]:
    return {
        **os.environ,
        "BENCH_DB": db,
        "BENCH_JOBS": str(jobs),
        "BENCH_SCHEDULE": schedule,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "benchmarks.project.settings",
    }


def manage(env: dict[str, str], *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(MANAGE), *args], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def child(mode: str, env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode], env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- measurements made inside one Django process ------------------------------------------


def _child(mode: str) -> None:
    import django

    django.setup()
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from cronjobs import registry
    from cronjobs.engine.runner import Runner
    from cronjobs.models import Job

    jobs = registry.get_jobs()
    if mode == "idle":
        Runner(jobs, now=timezone.now()).run()  # first seen (if new)
        times = []
        for _ in range(20):
            start = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                Runner(jobs, now=timezone.now()).run()
            times.append(time.perf_counter() - start)
        print(json.dumps({"queries": len(queries), "ms": statistics.median(times) * 1000}))
    elif mode == "due":
        now = timezone.now()
        Runner(jobs, now=now - timedelta(minutes=3)).run()

        def one_slot_due(at):
            states = list(Job.objects.all())
            for state in states:
                state.watermark = at - timedelta(minutes=1)  # exactly one slot due at ``at``
                state.next_slot = jobs[state.code].get_schedule().next_after(state.watermark)
            Job.objects.bulk_update(states, ["watermark", "next_slot"], batch_size=500)

        # Each job has run once before the measured pass, as in a project that has been running:
        # its lock's row exists (database lock), its lock file too, and it has a record.
        one_slot_due(now - timedelta(minutes=1))
        Runner(jobs, now=now - timedelta(minutes=1)).run()
        count = [0]

        def counter(execute, sql, params, many, context):
            count[0] += 1
            return execute(sql, params, many, context)

        # BENCH_PASSES > 1: that many passes, a minute apart, each with one slot due per job; the
        # fastest pass is reported (the least disturbed by the rest of a shared machine).
        passes = []
        for index in range(int(os.environ.get("BENCH_PASSES", "1"))):
            at = now + timedelta(minutes=index)
            one_slot_due(at)
            count[0] = 0
            _callgrind("on")
            start, cpu = time.perf_counter(), time.process_time()
            with connection.execute_wrapper(counter):
                outcomes = Runner(jobs, now=at).run()
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            _callgrind("off")
            assert len([o for o in outcomes if o.status == "succeeded"]) == len(jobs), outcomes[:3]
            passes.append((elapsed * 1000 / len(jobs), cpu * 1000 / len(jobs), count[0] / len(jobs)))
        ms, _, queries = min(passes)
        print(json.dumps({"ms_per_job": ms, "cpu_ms_per_job": min(p[1] for p in passes), "queries_per_job": queries}))
    elif mode == "history":
        from cronjobs.models import Run

        code = next(iter(jobs))
        rows = 1_000_000
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM cronjobs_run")
            if cursor.fetchone()[0] < rows:
                base = timezone.now() - timedelta(days=800)
                batch = []
                for i in range(rows):
                    slot = base + timedelta(minutes=i)
                    batch.append(
                        (code, slot, 1, False, "succeeded", slot, slot, 0.001, "host", 1, "", "", "", *NOTHING)
                    )
                    if len(batch) == 50_000:
                        _insert(cursor, batch)
                        batch = []
                _insert(cursor, batch)
        print(json.dumps({"runs": Run.objects.count()}))
    else:
        raise SystemExit(f"unknown mode {mode}")


def _callgrind(state: str) -> None:
    """Under ``valgrind --tool=callgrind --instr-atstart=no`` (``bench_due.py --instructions``):
    count the instructions of the measured passes only."""
    if os.environ.get("BENCH_CALLGRIND"):
        subprocess.run(["callgrind_control", "--instr=" + state, str(os.getpid())], check=True, capture_output=True)


#: The other columns without a default, empty in the inserted history (boot_id, token, task_backend, task_id).
NOTHING = ("", "", "", "")


def _insert(cursor, batch) -> None:
    if batch:
        cursor.executemany(
            "INSERT INTO cronjobs_run (job_code, slot, attempt, forced, status, started_at, finished_at, duration,"
            " hostname, pid, message, traceback, output, boot_id, token, task_backend, task_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            batch,
        )


# -- the report ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return
    tmp = Path(tempfile.mkdtemp(prefix="cronjobs-bench-"))
    lock_dir = str(tmp / "locks")
    print(f"Python {sys.version.split()[0]}, runs={args.runs}, databases in {tmp}\n")

    # 1. nothing due
    envs = {}
    for name, jobs, schedule in (
        ("0 jobs", 0, "0 3 * * *"),
        ("1,000 jobs, one schedule", 1000, "0 3 * * *"),
        ("1,000 jobs, 1,000 distinct schedules", 1000, "distinct"),
    ):
        env = env_for(str(tmp / f"idle{len(envs)}.sqlite3"), jobs, schedule) | {"BENCH_LOCK_DIR": lock_dir}
        manage(env, "migrate", "-v0")
        manage(env, "runcrons")  # first seen
        envs[name] = env
    samples: dict[str, list[float]] = {name: [] for name in envs}
    floor: list[float] = []
    for _ in range(args.runs):
        floor.append(manage(envs["0 jobs"], "version"))  # Django's start-up floor
        for name, env in envs.items():
            samples[name].append(manage(env, "runcrons"))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    empty, version = medians["0 jobs"], statistics.median(floor)
    print(f"`manage.py version` (the start-up floor): {version * 1000:.0f} ms, median of {args.runs}\n")
    print(
        "| nothing due (SQLite) | whole process, median | ratio to `manage.py version` | ratio to 0 jobs "
        "| SQL queries of a pass | in-process pass |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, env in envs.items():
        idle = child("idle", env)
        print(
            f"| {name} | {medians[name] * 1000:.0f} ms | **{medians[name] / version:.3f}x** | "
            f"{medians[name] / empty:.3f}x | {idle['queries']} | {idle['ms']:.1f} ms |"
        )
    print()
    full = medians["1,000 jobs, one schedule"]

    # 2. all due
    print("| N trivial jobs all due (SQLite WAL, file lock) | per job | queries per job |")
    print("|---|---:|---:|")
    for jobs in (100, 1000):
        results = []
        for repeat in range(3):
            env = env_for(str(tmp / f"due{jobs}-{repeat}.sqlite3"), jobs, "* * * * *") | {"BENCH_LOCK_DIR": lock_dir}
            manage(env, "migrate", "-v0")
            results.append(child("due", env))
        best = min(results, key=lambda r: r["ms_per_job"])
        spread = ", ".join(f"{r['ms_per_job']:.3f}" for r in results)
        print(
            f"| N = {jobs} | **{best['ms_per_job']:.3f} ms** (runs: {spread}; target <= 1 ms) | {best['queries_per_job']:.1f} |"
        )
    print()

    # 3. history
    env = envs["1,000 jobs, one schedule"]
    before = [child("idle", env) for _ in range(3)]
    inserted = child("history", env)
    after = [child("idle", env) for _ in range(3)]
    whole_after = statistics.median([manage(env, "runcrons") for _ in range(args.runs)])
    print("| 1,000 jobs, nothing due | runs in table | queries | in-process pass (median of 3) | whole process |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| before | 0 | {before[0]['queries']} | {statistics.median(b['ms'] for b in before):.1f} ms | "
        f"{full * 1000:.0f} ms |"
    )
    print(
        f"| after | {inserted['runs']:,} | {after[0]['queries']} | {statistics.median(a['ms'] for a in after):.1f} ms | "
        f"{whole_after * 1000:.0f} ms |"
    )


if __name__ == "__main__":
    main()
