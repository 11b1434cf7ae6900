"""MySQL/MariaDB: a transaction begun by Django (autocommit off, then on again) beside one begun
with START TRANSACTION (:mod:`cronjobs.models.transactions`), in one process, interleaved.

    python benchmarks/bench_begin.py [--blocks 8] [--transactions 300]

Each transaction is what a no-op task's is: one ``UPDATE`` of a task row, then ``COMMIT``. The
two ways alternate block by block; each reports its fastest block (milliseconds per
transaction) and the statements the server counted for it (``SHOW SESSION STATUS``). Runs on
the tests' MariaDB settings (``127.0.0.1:3306``, PyMySQL) in a database of its own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MEASURE = """
import time, uuid
from django.db import connection, transaction
from cronjobs.models.transactions import explicit_begins
from cronjobs.tasks.models import QueuedTask
from django.utils import timezone

row = QueuedTask.objects.create(task_path="x", backend="default", queue_name="default", run_after=timezone.now(),
                                enqueued_at=timezone.now(), timeout=600)

def counters():
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Com_set_option', 'Com_begin', 'Com_commit', 'Com_update')")
        return {name: int(value) for name, value in cursor.fetchall()}

def block(n):
    started = time.perf_counter()
    for i in range(n):
        with transaction.atomic():
            QueuedTask.objects.filter(pk=row.pk).update(priority=i % 3)
    return (time.perf_counter() - started) / n * 1000

def statements(n=10):
    before = counters()
    block(n)
    after = counters()
    return ", ".join(f"{k.removeprefix('Com_')} {(after[k] - before[k]) / n:g}" for k in sorted(before))

django_way, explicit = [], []
for _ in range(BLOCKS):
    django_way.append(block(TRANSACTIONS))
    with explicit_begins("default"):
        explicit.append(block(TRANSACTIONS))
print(f"| Django's (SET autocommit) | {min(django_way):.3f} ms | {statements()} |")
with explicit_begins("default"):
    print(f"| START TRANSACTION | {min(explicit):.3f} ms | {statements()} |")
print(f"START TRANSACTION / Django's: {min(explicit) / min(django_way):.2f}x")
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=300)
    args = parser.parse_args()
    import pymysql

    name = f"cronjobs_bench_begin_{uuid.uuid4().hex[:8]}"
    server = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
    server.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CRONJOBS_TEST_DB_VENDOR": "mysql",
        "CRONJOBS_TEST_DB_NAME": name,
        "PYTHONPATH": str(ROOT),
    }
    manage = [sys.executable, str(ROOT / "tests" / "manage.py")]
    try:
        subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, capture_output=True)
        code = MEASURE.replace("BLOCKS", str(args.blocks)).replace("TRANSACTIONS", str(args.transactions))
        done = subprocess.run([*manage, "shell", "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        print(f"{args.transactions} transactions (UPDATE, COMMIT) per block, fastest of {args.blocks} blocks\n")
        print("| how it begins | per transaction | statements per transaction (server's counters) |")
        print("|---|---:|---|")
        lines = done.stdout.splitlines()
        print("\n".join(line for line in lines if line.startswith("|")))
        print("\n" + next(line for line in lines if line.startswith("START")))
    finally:
        server.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
