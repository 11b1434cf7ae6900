"""Lock costs and parallel workers: ``python benchmarks/bench_locks.py``.

1. Queries for one acquire + release of the database lock (first use of a name, then later uses).
2. Per-job cost of a due job (claim, lock, transaction, record) with the database lock and with
   the file lock, on PostgreSQL, in one process: 200 trivial jobs run with ``--force``.
3. Wall time of ``runcrons --workers 4`` (a whole process) with eight jobs that each sleep 1 s.

Needs PostgreSQL at 127.0.0.1:5432 (user postgres, as for the tests); makes and drops its own
database. The machine is shared and noisy: compare the ratio, not the absolute figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NAME = f"cronjobs_bench_{uuid.uuid4().hex[:8]}"
ENV = {
    "DJANGO_SETTINGS_MODULE": "tests.settings",
    "CRONJOBS_TEST_DB_VENDOR": "postgresql",
    "CRONJOBS_TEST_DB_NAME": NAME,
    "CRONJOBS_TEST_LOCK_DIR": f"/tmp/{NAME}-locks",
}
JOBS = 200
ROUNDS = 5


def make_jobs(lock: str, count: int) -> dict:
    from cronjobs import BaseCronJob

    jobs = {}
    for n in range(count):
        code = f"bench.{lock}.{n}"
        jobs[code] = type(
            f"Bench{n}",
            (BaseCronJob,),
            {"schedule": "* * * * *", "code": code, "lock": lock, "run": lambda self: None, "__module__": __name__},
        )
    return jobs


def per_job_ms(locks: list[str]) -> dict[str, float]:
    """Best time per job for each lock; rounds alternate between the locks so noise hits both."""
    from django.utils import timezone

    from cronjobs.engine.runner import Runner

    jobs = {lock: make_jobs(lock, JOBS) for lock in locks}
    best = {lock: float("inf") for lock in locks}
    for lock in locks:
        Runner(jobs[lock], now=timezone.now(), force=True).run()  # warm: job rows, lease rows
    for _ in range(ROUNDS):
        for lock in locks:
            started = time.perf_counter()
            outcomes = Runner(jobs[lock], now=timezone.now(), force=True).run()
            elapsed = time.perf_counter() - started
            assert all(o.status == "succeeded" for o in outcomes), {o.status for o in outcomes}
            best[lock] = min(best[lock], elapsed / JOBS * 1000)
    return best


def lock_queries() -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cronjobs.locks.database import DatabaseLock

    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            lock = DatabaseLock("bench.queries", ttl=timedelta(minutes=1), owner=uuid.uuid4().hex)
            assert lock.acquire()
            lock.release()
        counts.append(len(captured.captured_queries))
    return counts[0], counts[1]


def workers_wall(workers: int) -> tuple[float, str]:
    from cronjobs.models import Run

    Run.objects.all().delete()
    jobs = ",".join(f"tests.testapp.jobs.SleepsOneSecond{n}" for n in range(1, 9))
    env = {**os.environ, **ENV, "CRONJOBS_TEST_JOBS": jobs, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "manage.py"), "runcrons", "--force", "--workers", str(workers)],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    return elapsed, f"{result.stdout.count('succeeded')} succeeded"


def runner_wall(workers: int) -> float:
    """The same eight jobs through ``Runner.run(workers=...)`` in this process: no interpreter start-up."""
    from django.utils import timezone

    from cronjobs.engine.runner import Runner
    from tests.testapp import jobs as test_jobs

    jobs = {cls.code: cls for cls in (getattr(test_jobs, f"SleepsOneSecond{n}") for n in range(1, 9))}
    started = time.perf_counter()
    outcomes = Runner(jobs, now=timezone.now(), force=True).run(workers=workers)
    elapsed = time.perf_counter() - started
    assert [o.status for o in outcomes] == ["succeeded"] * 8, outcomes
    return elapsed


def main() -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{NAME}"')
    try:
        os.environ.update(ENV)
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        first, later = lock_queries()
        costs = per_job_ms(["file", "database"])
        file_ms, database_ms = costs["file"], costs["database"]
        wall4, ran4 = workers_wall(4)
        wall1, ran1 = workers_wall(1)
        inside4 = min(runner_wall(4) for _ in range(ROUNDS))
        from django.db import connections

        connections.close_all()
    finally:
        with psycopg.connect(dbname="postgres", host="127.0.0.1", user="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    print("| measure | figure | target |")
    print("|---|---|---|")
    print(f"| database lock: queries for acquire + release, first use of a name | {first} | at most 3 |")
    print(f"| database lock: queries for acquire + release, later | {later} | at most 3 |")
    print(f"| PostgreSQL, due job with the file lock (best of {ROUNDS} x {JOBS} jobs) | {file_ms:.3f} ms | |")
    print(f"| PostgreSQL, due job with the database lock | {database_ms:.3f} ms | |")
    print(f"| ratio database / file | {database_ms / file_ms:.2f}x | at most 2x |")
    print(f"| `runcrons --force --workers 4`, eight 1 s jobs, whole process | {wall4:.2f} s ({ran4}) | at most 2.5 s |")
    print(f"| the same, `Runner.run(workers=4)` in-process (best of {ROUNDS}) | {inside4:.2f} s | |")
    print(f"| the same with `--workers 1`, whole process | {wall1:.2f} s ({ran1}) | (sequential floor 8 s) |")
    print(f"| load average (1 min) on {os.cpu_count()} cores while measuring | {os.getloadavg()[0]:.1f} | |")


if __name__ == "__main__":
    main()
