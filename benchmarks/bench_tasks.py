"""One-off tasks: enqueue and drain rates of ``cronjobs.tasks.DatabaseBackend``, and the claim's query plan.

    python benchmarks/bench_tasks.py [--n 2000] [--repeats 3] [--dbs sqlite-wal,postgresql]
                                     [--explain-rows 100000] [--peers] [--workers 1,2]
                                     [--baseline DIR] [--instructions]

For each database: a fresh database, ``migrate``, then per repeat N no-op tasks enqueued
through ``noop.enqueue(i)`` with one commit each (``loop``: in-process time of the loop; then N
more inside one ``transaction.atomic()``, timed with its commit, and deleted untimed),
and one ``runcrons --tasks-only`` process draining them (``whole``: spawn to exit;
``span``: first start to last finish as recorded in the table). Then the claim query's
plan with ``--explain-rows`` ready tasks waiting.

``+durable`` runs with ``CRONJOBS["TASKS_DURABLE_BOOKKEEPING"] = True`` (every claim and
outcome waits for the disk); without it the worker's own records do not wait for the disk
(the tasks' own transactions always do). ``sqlite-wal`` is WAL mode with SQLite's default
``synchronous=FULL`` (an fsync per commit), as the peers were measured;
``sqlite-wal-normal`` is WAL with ``synchronous=NORMAL``, what the example project and the
tests use. PostgreSQL runs with its defaults (``synchronous_commit=on``). Django's default
``CONN_MAX_AGE=0`` everywhere.

``--workers 1,2`` drains with ``runcrons --tasks-only --workers N`` for each N (the
scaling of one invocation). ``--baseline DIR`` measures another checkout of this project
(e.g. ``git worktree add /tmp/base main``) with the same settings, interleaved with ours
repeat by repeat, and prints the ratios new / baseline of this one run.

``--instructions`` counts, instead of timing, the instructions the worker executes per task
while it drains N no-op tasks in-process (valgrind's callgrind, counting from the drain's start
to its end): the same from run to run within a fraction of a percent, for changes of a few
percent that a shared machine's noise would hide. The database server's work is not counted.

``--peers`` also runs the peer harness (/work/shared/peers/queues/run.sh): django-tasks-db's
``db_worker --batch``, with and without persistent connections, with the same N and
repeats, and prints the ratios of this one run.
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
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "tests" / "manage.py"
PEERS = Path(os.environ.get("CRONJOBS_PEERS_DIR", "/work/shared/peers/queues"))
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

ENQUEUE = """
import json, time
from django.db import transaction
from cronjobs.tasks.models import QueuedTask
from tests.testapp.tasks import noop
started = time.perf_counter()
for i in range({n}):
    noop.enqueue(i)
loop_s = time.perf_counter() - started
started = time.perf_counter()
with transaction.atomic():  # then taken out again (not timed): the drain has N tasks
    extra = [noop.enqueue(i).id for i in range({n})]
in_transaction_s = time.perf_counter() - started
for start in range(0, len(extra), 500):
    QueuedTask.objects.filter(pk__in=extra[start:start + 500]).delete()
print(json.dumps({{"loop_s": loop_s, "in_transaction_s": in_transaction_s}}))
"""

FILL = """
from django.utils import timezone
from cronjobs.tasks.models import QueuedTask
now = timezone.now()
rows = [QueuedTask(task_path="tests.testapp.tasks.noop", backend="default", queue_name="default",
                   priority=i % 3, args=[i], run_after=now, enqueued_at=now, timeout=600) for i in range({n})]
QueuedTask.objects.bulk_create(rows, batch_size=2000)
"""

EXPLAIN = """
from django.db import connection, transaction
from django.utils import timezone
from cronjobs.tasks.models import QueuedTask, _returning_claim, plan_claims_by_index
if connection.vendor in ("sqlite", "postgresql"):
    sql, params = _returning_claim(connection, "bench", timezone.now(), ["default"], None)
else:
    with transaction.atomic():
        ready = QueuedTask.objects.ready(timezone.now(), ["default"])
        sql, params = ready.select_for_update(skip_locked=True)[:1].query.sql_with_params()
with connection.cursor() as cursor:
    if connection.vendor == "sqlite":
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        print("\\n".join(row[-1] for row in cursor.fetchall()))
    elif connection.vendor == "postgresql":
        with transaction.atomic():  # the claim's own transaction settings
            plan_claims_by_index(connection)
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
            print("\\n".join(row[0] for row in cursor.fetchall()))
            transaction.set_rollback(True)
    else:
        cursor.execute("EXPLAIN " + sql, params)
        names = [c[0] for c in cursor.description]
        print("\\n".join(str(dict(zip(names, row))) for row in cursor.fetchall()))
"""

DRAIN_COUNTED = """
import json, os, subprocess
from cronjobs.tasks.worker import Worker

def callgrind(state):
    subprocess.run(["callgrind_control", "--instr=" + state, str(os.getpid())], check=True, capture_output=True)

callgrind("on")
drained = Worker().drain()
callgrind("off")
print(json.dumps({"succeeded": drained.succeeded}))
"""

STATS = """
import json
from django.db.models import Max, Min
from cronjobs.tasks.models import QueuedTask
agg = QueuedTask.objects.aggregate(first=Min("started_at"), last=Max("finished_at"))
print(json.dumps({"succeeded": QueuedTask.objects.filter(status="SUCCESSFUL").count(),
                  "total": QueuedTask.objects.count(),
                  "span_s": (agg["last"] - agg["first"]).total_seconds()}))
"""


class Database:
    def __init__(self, vendor: str, directory: Path, root: Path = ROOT) -> None:
        self.vendor = vendor
        self.directory = directory
        self.name = ""
        self.root = root

    @property
    def base(self) -> str:
        return self.vendor.removesuffix("+durable")

    def env(self) -> dict[str, str]:
        return {
            "CRONJOBS_TEST_DURABLE_BOOKKEEPING": "1" if self.vendor.endswith("+durable") else "0",
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "CRONJOBS_TEST_DB_VENDOR": "sqlite" if self.base.startswith("sqlite") else self.base,
            "CRONJOBS_TEST_DB_NAME": self.name,
            "CRONJOBS_TEST_SQLITE_SYNCHRONOUS": "NORMAL" if self.base == "sqlite-wal-normal" else "FULL",
            "PYTHONPATH": str(self.root),
        }

    def reset(self) -> None:
        self.drop()
        name = f"cronjobs_bench_{uuid.uuid4().hex[:8]}"
        if self.base.startswith("sqlite"):
            self.name = str(self.directory / f"{name}.sqlite3")
        elif self.base == "postgresql":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:  # type: ignore[arg-type]
                conn.execute(f'CREATE DATABASE "{name}"')
            self.name = name
        else:
            import pymysql

            conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
            conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            conn.close()
            self.name = name
        self.manage("migrate", "-v0")

    def drop(self) -> None:
        if not self.name:
            return
        if self.base == "postgresql":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:  # type: ignore[arg-type]
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self.base == "mysql":
            import pymysql

            conn = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
            conn.cursor().execute(f"DROP DATABASE IF EXISTS `{self.name}`")
            conn.close()
        self.name = ""

    def manage(self, *args: str) -> tuple[float, str]:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(self.root / "tests" / "manage.py"), *args],
            env=self.env(),
            cwd=self.root,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed on {self.vendor}:\n{done.stdout}\n{done.stderr}")
        return wall, done.stdout

    def shell(self, code: str) -> tuple[float, str]:
        return self.manage("shell", "-c", code)


def last_json(text: str) -> dict:
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def measure_once(db: Database, n: int, workers: int, into: dict) -> None:
    db.reset()
    enqueued = last_json(db.shell(ENQUEUE.format(n=n))[1])
    enqueue, enqueue_tx = enqueued["loop_s"], enqueued["in_transaction_s"]
    wall, _ = db.manage("runcrons", "--tasks-only", "--workers", str(workers), "-v0")
    stats = last_json(db.shell(STATS)[1])
    if stats["succeeded"] != n or stats["total"] != n:
        raise RuntimeError(f"incomplete drain on {db.vendor}: {stats}")
    for key, value in (("enqueue", enqueue), ("enqueue_tx", enqueue_tx), ("whole", wall), ("span", stats["span_s"])):
        into.setdefault(key, []).append(value)
    label = f"{db.vendor}{'' if db.root == ROOT else ' (baseline)'}, {workers} worker(s)"
    print(f"  {label}: enqueue {enqueue:.2f}s, drain {wall:.2f}s (span {stats['span_s']:.2f}s)", file=sys.stderr)


def measure(dbs: dict[str, Database], n: int, repeats: int, workers: list[int]) -> dict[str, dict]:
    """Every (database, tree, workers) once per repeat, interleaved: the noise of the machine
    falls on all of them alike."""
    for db in dbs.values():  # a discarded round first: the first processes of a tree pay for cold caches
        measure_once(db, min(n, 200), 1, {})
    found: dict[str, dict] = {}
    for _ in range(repeats):
        for key, db in dbs.items():
            for count in workers:
                measure_once(db, n, count, found.setdefault(f"{key}|{count}", {}))
    return found


def count_instructions(db: Database, n: int) -> float:
    """Instructions of the worker per task, draining ``n`` no-op tasks in-process under callgrind
    (counted from the drain's start to its end only)."""
    db.reset()
    db.shell(FILL.format(n=n))
    out_file = db.directory / f"{uuid.uuid4().hex[:8]}.callgrind"
    command = [
        "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_file}",
        sys.executable, str(db.root / "tests" / "manage.py"), "shell", "-c", DRAIN_COUNTED,
    ]  # fmt: skip
    done = subprocess.run(command, env=db.env() | {"PYTHONHASHSEED": "0"}, cwd=db.root, capture_output=True, text=True)
    if done.returncode != 0 or last_json(done.stdout)["succeeded"] != n:
        raise RuntimeError(f"the counted drain failed on {db.vendor}:\n{done.stdout}\n{done.stderr[-3000:]}")
    refs = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    assert refs is not None, done.stderr[-2000:]
    return int(refs.group(1).replace(",", "")) / n


def report_instructions(trees: dict[str, Database], n: int, baseline: bool) -> None:
    counts = {key: count_instructions(db, n) for key, db in trees.items()}
    print(f"N={n} no-op tasks drained in-process: instructions of the worker per task (callgrind)\n")
    print("| database | instructions per task |\n|---|---:|")
    for key, count in counts.items():
        print(f"| {key} | {count:,.0f} |")
    if baseline:
        print("\n| database | this tree / baseline |\n|---|---:|")
        for key in counts:
            if not key.endswith("(baseline)"):
                print(f"| {key} | {counts[key] / counts[f'{key} (baseline)']:.3f}x |")


def rate(n: int, seconds: list[float]) -> float:
    return n / statistics.median(seconds)


def spread(seconds: list[float]) -> str:
    return f"{min(seconds):.2f}-{max(seconds):.2f} s"


def run_peers(n: int, repeats: int, dbs: list[str]) -> dict | None:
    script = PEERS / "run.sh"
    if not script.exists():
        print(f"(peer harness not found at {PEERS}; skipped)", file=sys.stderr)
        return None
    names = {"sqlite-wal": "sqlite-wal", "postgresql": "postgres"}
    peer_dbs = ",".join(names[d] for d in dict.fromkeys(d.removesuffix("+durable") for d in dbs) if d in names)
    path = Path(tempfile.gettempdir()) / f"peerq-{uuid.uuid4().hex[:8]}.json"
    subprocess.run(
        [str(script), "--n", str(n), "--repeats", str(repeats), "--dbs", peer_dbs,
         "--drains", "dt,dt-persist", "--json", str(path)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return json.loads(path.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--dbs",
        default="sqlite-wal,sqlite-wal+durable,sqlite-wal-normal,postgresql,postgresql+durable",
        help="sqlite-wal, sqlite-wal-normal, postgresql, mysql; +durable: with TASKS_DURABLE_BOOKKEEPING",
    )
    parser.add_argument("--explain-rows", type=int, default=100_000)
    parser.add_argument("--peers", action="store_true", help="also run the peer harness and print ratios")
    parser.add_argument("--workers", default="1", help="comma-separated --workers values, e.g. 1,2")
    parser.add_argument("--baseline", help="another checkout of this project, measured interleaved with this one")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count the worker's instructions per task under valgrind's callgrind instead of timing "
        "(repeatable on a busy machine; the database server's share is not counted); try --n 300",
    )
    args = parser.parse_args()
    dbs = [d for d in args.dbs.split(",") if d]

    workers = [int(w) for w in args.workers.split(",") if w]
    baseline = Path(args.baseline).resolve() if args.baseline else None
    plans: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as directory:
        trees: dict[str, Database] = {}
        for vendor in dbs:
            trees[vendor] = Database(vendor, Path(directory))
            if baseline:
                trees[f"{vendor} (baseline)"] = Database(vendor, Path(directory), baseline)
        try:
            if args.instructions:
                report_instructions(trees, args.n, baseline is not None)
                return 0
            found = measure(trees, args.n, args.repeats, workers)
            for vendor in dbs:
                db = trees[vendor]
                db.reset()
                db.shell(FILL.format(n=args.explain_rows))
                plans[vendor] = db.shell(EXPLAIN)[1].strip()
        finally:
            for db in trees.values():
                db.drop()
    peers = run_peers(args.n, args.repeats, dbs) if args.peers else None

    n = args.n
    print(f"N={n} no-op tasks, median of {args.repeats}; every row measured in the same run, interleaved.\n")
    print(
        "| database | workers | drain, whole process | drain, in-table span | enqueue, one commit each (loop) "
        "| enqueue, in one transaction |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for key, m in found.items():
        name, count = key.split("|")
        print(
            f"| {name} | {count} | {rate(n, m['whole']):,.0f}/s ({spread(m['whole'])}) | {rate(n, m['span']):,.0f}/s | "
            f"{rate(n, m['enqueue']):,.0f}/s ({spread(m['enqueue'])}) | {rate(n, m['enqueue_tx']):,.0f}/s |"
        )
    if baseline:
        print("\nRatios, this tree / baseline (same run; > 1: faster)\n")
        print("| database | workers | drain, whole process | drain, in-table span | enqueue |")
        print("|---|---:|---:|---:|---:|")
        for vendor in dbs:
            for count in workers:
                new, old = found[f"{vendor}|{count}"], found[f"{vendor} (baseline)|{count}"]
                drain = rate(n, new["whole"]) / rate(n, old["whole"])
                span = rate(n, new["span"]) / rate(n, old["span"])
                enqueue = rate(n, new["enqueue"]) / rate(n, old["enqueue"])
                print(f"| {vendor} | {count} | {drain:.2f}x | {span:.2f}x | {enqueue:.2f}x |")
    if len(workers) > 1:
        print(
            "\nScaling of one invocation, drain rate with N workers / with 1 (same run; whole process, in-table span)\n"
        )
        print("| database | " + " | ".join(f"{w} workers" for w in workers) + " |")
        print("|---|" + "---:|" * len(workers))
        for key in trees:
            one = {m: rate(n, found[f"{key}|{workers[0]}"][m]) for m in ("whole", "span")}
            cells = " | ".join(
                " / ".join(f"{rate(n, found[f'{key}|{w}'][m]) / one[m]:.2f}x" for m in ("whole", "span"))
                for w in workers
            )
            print(f"| {key} | {cells} |")
    ours = {vendor: found[f"{vendor}|{workers[0]}"] for vendor in dbs}
    if peers:
        print_peers(n, ours, peers)
    for vendor, plan in plans.items():
        print(f"\nClaim query plan, {vendor}, {args.explain_rows:,} ready tasks:\n\n```\n{plan}\n```")
    return 0


def print_peers(n: int, ours: dict[str, dict], peers: dict) -> None:
    names = {"sqlite-wal": "sqlite-wal", "postgres": "postgresql"}
    labels = {
        "dt": "django-tasks-db `db_worker --batch`",
        "dt-persist": "django-tasks-db `db_worker --batch`, CONN_MAX_AGE=None",
        "bg-loop": "django-background-tasks `run_next_task()` loop",
    }
    print("\nThe same run, beside the peers (whole process; ratio: ours / theirs)\n")
    print("| database | worker | drain | ours / theirs | enqueue (loop) | ours / theirs |")
    print("|---|---|---:|---:|---:|---:|")
    for vendor, m in ours.items():
        ours_drain, ours_enqueue = rate(n, m["whole"]), rate(n, m["enqueue"])
        ours_row = f"| {vendor} | cronjobs `runcrons --tasks-only` | {ours_drain:,.0f}/s | 1.00 |"
        print(f"{ours_row} {ours_enqueue:,.0f}/s | 1.00 |")
        for row in peers["rows"]:
            if row["kind"] != "drain" or names.get(row["db"]) != vendor.removesuffix("+durable"):
                continue
            drain = rate(n, [s["wall_s"] for s in row["samples"]])
            enqueue_rows = [
                r
                for r in peers["rows"]
                if r["kind"] == "enqueue" and r.get("drain") == row["drain"] and r["db"] == row["db"]
            ]
            enqueue = rate(n, [s["loop_s"] for r in enqueue_rows for s in r["samples"]])
            print(
                f"| {vendor} | {labels.get(row['drain'], row['drain'])} | {drain:,.0f}/s | {ours_drain / drain:.1f}x | "
                f"{enqueue:,.0f}/s | {ours_enqueue / enqueue:.1f}x |"
            )


if __name__ == "__main__":
    sys.exit(main())
