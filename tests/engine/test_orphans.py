"""Worker processes die with their parent: a SIGKILL to runcrons leaves no orphan draining on."""

from __future__ import annotations

import os
import signal

import pytest

from tests.support.projects import wait_for

pytestmark = pytest.mark.processes


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_workers_of_a_killed_loop_stop_with_it(project):
    looping = project.start("runcrons", "--loop", "--tasks-only", "--workers", "2")
    wait_for(lambda: len(children_of(looping.pid)) >= 2 or looping.poll() is not None, timeout=120)
    assert looping.poll() is None, looping.communicate()
    workers = children_of(looping.pid)
    os.kill(looping.pid, signal.SIGKILL)  # the parent only, as the OOM killer would
    looping.wait(timeout=30)
    wait_for(lambda: not any(alive(pid) for pid in workers), timeout=90)


CHILD_OF_SOMEONE_ELSE = """
import os, time
import django
django.setup()
from cronjobs.engine import processes
processes.die_with_parent(os.getppid() + 1_000_000)  # as if its parent had gone: a pid it never had
time.sleep(120)
"""


def test_without_the_kernels_notice_a_child_still_sees_its_parent_gone_and_stops():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(root)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD_OF_SOMEONE_ELSE], env=env, cwd=root, capture_output=True, text=True, timeout=90
    )
    assert child.returncode == -signal.SIGTERM, child.stderr
