"""Process identity: a run's process is judged gone only where its pid can be seen.

Two runners with one hostname in different PID namespaces (containers on the host network,
Kubernetes ``hostNetwork``) cannot see each other's pids: only the lease says a run crashed.
"""

from __future__ import annotations

import signal
import subprocess

import pytest

from tests.support.leases import LAPSED, renewed_past_the_claim
from tests.support.projects import clock_ahead, stop, unavailable, wait_for

pytestmark = pytest.mark.processes

UNSHARE = ("unshare", "--pid", "--fork", "--mount-proc")
JOBS = "AllowsOverlapWithRetries,EveryMinute"
CODE = "test.allows_overlap_retried"


def require_pid_namespaces() -> None:
    try:
        result = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        unavailable("unshare (util-linux) is not installed")
    if result.returncode != 0:
        unavailable(f"cannot make a PID namespace here (needs root): {result.stderr.strip()}")


def free_pid() -> int:
    """A pid no process has in this namespace (the test gives it to a process in another one)."""
    from cronjobs.identity import pid_alive

    return next(pid for pid in range(300, 32768) if not pid_alive(pid))


def in_pid_namespace(pid: int) -> tuple[str, ...]:
    """Run the command in a new PID namespace, as its process ``pid`` (pids there count from 1)."""
    spend = f'i=2; while [ "$i" -lt {pid} ]; do /bin/true; i=$((i+1)); done; "$@"'
    return (*UNSHARE, "sh", "-c", spend, "sh")


def statuses(project) -> list[str]:
    return sorted(row[2] for row in project.runs(CODE) if row[2] != "missed")


@pytest.mark.parametrize("project", ["postgresql"], indirect=True)  # the identity logic is the engine's, not SQL's
def test_a_live_run_in_another_pid_namespace_with_this_hostname_is_not_taken_for_crashed(project):
    require_pid_namespaces()
    project.seed_job(CODE, minutes_ago=1)
    pid = free_pid()
    contained = project.start("runcrons", jobs=JOBS, env={"CRONJOBS_TEST_SLEEP": "60"}, wrap=in_pid_namespace(pid))
    try:
        wait_for(lambda: statuses(project) == ["running"])
        [(recorded, namespace, host)] = project.query(
            "SELECT pid, pid_namespace, hostname FROM cronjobs_run WHERE job_code = ? AND status = 'running'", (CODE,)
        )
        assert recorded == pid  # a pid of its own namespace: here no process has it
        # Past the lease of its claim: its heartbeat keeps it alive.
        wait_for(lambda: renewed_past_the_claim(project, CODE, 1), timeout=60)
        outside = project.manage("runcrons", "--force", "test.every_minute", jobs=JOBS)
        assert outside.returncode == 0, outside.stdout + outside.stderr
        assert statuses(project) == ["running"]  # not "process N on host is gone"
        [(retry,)] = project.query("SELECT retry_at FROM cronjobs_job WHERE code = ?", (CODE,))
        assert retry is None  # and so no retry beside the live run
    finally:
        stop(contained, signal.SIGKILL)
        contained.wait(timeout=10)
    # Once its process is really gone, its lease lapses and it crashes by the lease: a runcrons
    # whose clock is past the lease judges it.
    later = project.manage(
        "runcrons", "--force", "test.every_minute", jobs=JOBS, env=clock_ahead(LAPSED.total_seconds())
    )
    assert later.returncode == 1, later.stdout + later.stderr
    assert f"{CODE}: crashed" in later.stdout and "stopped renewing its lease" in later.stdout
    assert host in later.stdout and namespace is not None
