"""Many hosts for real: runcrons on test hosts (own hostname, address, PID space, fake clock) sharing one database.

Each scenario runs on PostgreSQL and on MariaDB, reached by the hosts over their own links
(see :mod:`tests.hosts.network`), and counts the committed side effects per slot.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts import network
from tests.hosts.jobs import FIFTY
from tests.support.projects import MANAGE, ROOT, Server, create_server, unavailable

pytestmark = [pytest.mark.hosts, pytest.mark.processes]

#: The fake clock's first minute (2031-01-01 00:00 UTC); each host adds its own skew.
T0 = 1924992000
VENDORS = ["postgresql", "mysql"]


@pytest.fixture(params=VENDORS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    why = network.missing()
    if why:
        unavailable(why)
    created = create_server(request.param, tmp_path)
    migrated = subprocess.run(
        [sys.executable, str(MANAGE), "migrate", "-v0"], env=base_env(created, tmp_path), capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    yield created
    created.drop()


def base_env(server: Server, tmp_path: Path, jobs: list[str] = FIFTY, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CRONJOBS_TEST_DB_VENDOR": server.vendor,
        "CRONJOBS_TEST_DB_NAME": server.name,
        "CRONJOBS_TEST_LOCK_DIR": str(tmp_path / "locks"),
        "CRONJOBS_TEST_JOBS": ",".join(jobs),
        "CRONJOBS_TEST_CACHE_PREFIX": f"cronjobs-hosts-{tmp_path.name}",
        **extra,
    }


def runcrons(host: network.Host, env: dict[str, str], clock: float, *args: str) -> subprocess.Popen:
    return host.popen(
        [sys.executable, str(MANAGE), "runcrons", *args],
        {**env, **host.database_env()},
        clock=clock,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def every_minute(hosts: list[network.Host], env: dict[str, str], minutes: int) -> list[tuple[str, int, str]]:
    """Each minute of the fake clock, every host runs runcrons at second 5 (its clock); (host, exit, stderr)."""
    results = []
    for minute in range(minutes):
        started = [(h, runcrons(h, env, T0 + minute * 60 + 5)) for h in hosts]
        for host, process in started:
            _, err = process.communicate(timeout=120)
            results.append((host.name, process.returncode, err))
    return results


def duplicates(server: Server) -> list[tuple]:
    return server.query("SELECT job, slot, COUNT(*) FROM testapp_effect GROUP BY job, slot HAVING COUNT(*) > 1")


def slots_by_job(server: Server) -> dict[str, list]:
    found: dict[str, list] = {}
    for job, slot in server.query("SELECT job, slot FROM testapp_effect ORDER BY job, slot"):
        found.setdefault(job, []).append(slot)
    return found


def statuses(server: Server) -> Counter:
    return Counter(dict(server.query("SELECT status, COUNT(*) FROM cronjobs_run GROUP BY status")))


@pytest.mark.parametrize(("skews", "minutes"), [((0, 0, 0), 10), ((0, 30, -30), 6)], ids=["same-clock", "skew-30s"])
def test_three_hosts_run_fifty_jobs_each_slot_once(
    server: Server, tmp_path: Path, skews: tuple[int, ...], minutes: int
) -> None:
    """3 hosts, 50 jobs, database locks, ten minutes; skewed: one host 30 s ahead, one 30 s behind.

    The jobs are first seen the minute before, as in a deployment that has been running: when
    skewed hosts first see a job at once, the one behind may run its first slot a minute late,
    and the next slot is then skipped as overlapping (recorded so; see docs/howto/deploy.md, "Clocks").
    """
    env = base_env(server, tmp_path)
    with network.Hosts(3, services=(server.vendor,)) as hosts:
        for host, skew in zip(hosts, skews, strict=True):
            host.skew = skew
        first_sight = hosts[0].run(
            [sys.executable, str(MANAGE), "runcrons"], {**env, **hosts[0].database_env()}, clock=T0 - 55
        )
        assert first_sight.returncode == 0, first_sight.stderr
        results = every_minute(hosts, env, minutes)
    assert [(name, code) for name, code, _ in results if code != 0] == [], [err for *_, err in results]
    assert duplicates(server) == []
    found = slots_by_job(server)
    assert len(found) == 50
    hosts_seen = {row[0] for row in server.query("SELECT DISTINCT hostname FROM cronjobs_run")}
    assert hosts_seen <= {"host1", "host2", "host3"} and len(hosts_seen) >= 2, hosts_seen
    for job, slots in found.items():
        # Every minute from T0 to the last one, once.
        minutes_run = [int(s.timestamp()) for s in slots]
        runs = server.query(  # what the records say, should a slot be missing
            "SELECT slot, attempt, status, hostname, message FROM cronjobs_run WHERE job_code = ? ORDER BY slot", (job,)
        )
        assert minutes_run == list(range(T0, T0 + minutes * 60, 60)), f"{job}: {minutes_run}; runs: {runs}"
    counts = statuses(server)
    assert set(counts) == {"succeeded"}, counts
    assert counts["succeeded"] == sum(len(s) for s in found.values())


def test_a_host_cut_off_mid_job_is_declared_crashed_its_slot_retried_and_its_late_commit_refused(
    server: Server, tmp_path: Path
) -> None:
    env = base_env(server, tmp_path, jobs=["tests.hosts.jobs.CaughtMidRun"], CRONJOBS_TEST_SLEEP="8")
    with network.Hosts(2, services=(server.vendor,)) as (first, second):
        runcrons(first, env, T0 + 5).communicate(timeout=60)  # the job is first seen
        caught = runcrons(first, env, T0 + 65)  # runs slot T0+60, writes, sleeps 8 s
        deadline = time.monotonic() + 30
        while not server.query("SELECT 1 FROM cronjobs_run WHERE status = 'running'"):
            assert time.monotonic() < deadline and caught.poll() is None, caught.communicate()
            time.sleep(0.1)
        time.sleep(1)  # its write is made, uncommitted, and it sleeps
        first.cut()
        # A minute later, past its 3 s lease: the other host, with the next slot due, declares
        # the run crashed (by lease: another host's pid says nothing) and runs attempt 2 of
        # slot T0+60 when the retry is due, a second later: by then, however slowly the first
        # runcrons started on a busy machine (the clocks go on in real time), and before T0+180.
        retried = runcrons(second, env, T0 + 125)
        out, err = retried.communicate(timeout=60)
        again = runcrons(second, env, T0 + 150)
        out2, err2 = again.communicate(timeout=60)
        first.heal()
        late_out, late_err = caught.communicate(timeout=60)
    rows = server.query("SELECT slot, attempt, status, hostname, message FROM cronjobs_run ORDER BY slot, attempt")
    seen = [(int(slot.timestamp()) - T0, a, s, h) for slot, a, s, h, _ in rows]
    assert seen == [(60, 1, "crashed", "host1"), (60, 2, "succeeded", "host2"), (120, 1, "succeeded", "host2")], (
        rows,
        out + err + out2 + err2,
        late_out + late_err,
    )
    assert "stopped renewing its lease" in rows[0][4]
    effects = Counter(int(slot.timestamp()) - T0 for (slot,) in server.query("SELECT slot FROM testapp_effect"))
    # host1's write was rolled back by the fence when it healed: one committed execution a slot.
    assert effects == {60: 1, 120: 1}, effects
    # Back on the network, host1 learns its claim is gone and its transaction rolls back.
    assert caught.returncode == 1, late_out + late_err
    assert "lost its claim: its work was rolled back" in late_out, late_out + late_err


def test_a_cache_lock_on_redis_holds_with_a_host_cut_off_from_redis_only(server: Server, tmp_path: Path) -> None:
    """The host that cannot reach Redis cannot take the lock: it fails its run and never runs the job unlocked."""
    env = base_env(server, tmp_path, jobs=["tests.hosts.jobs.CacheLocked"])
    with network.Hosts(2, services=(server.vendor, "redis")) as (first, second):
        for p in [runcrons(h, env, T0 + 5) for h in (first, second)]:
            p.communicate(timeout=60)
        first.cut_service("redis")
        try:
            started = [runcrons(h, env, T0 + 65) for h in (first, second)]
            results = [(p.communicate(timeout=120), p.returncode) for p in started]
        finally:
            first.heal_service("redis")
        for p in [runcrons(h, env, T0 + 125) for h in (first, second)]:
            p.communicate(timeout=60)
    assert duplicates(server) == []
    rows = server.query(
        "SELECT slot, hostname, status, message FROM cronjobs_run WHERE status <> 'missed' ORDER BY slot"
    )
    assert rows, results
    cut_off = [r for r in rows if r[1] == "host1" and int(r[0].timestamp()) == T0 + 60]
    assert all(r[2] == "failed" and "could not take the lock" in r[3] for r in cut_off), rows
    by_slot = Counter(r[0] for r in rows if r[2] == "succeeded")
    assert set(by_slot.values()) == {1}, rows
    assert all(r[1] == "host2" for r in rows if r[2] == "succeeded" and int(r[0].timestamp()) == T0 + 60), rows
