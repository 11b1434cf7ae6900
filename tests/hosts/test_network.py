"""The test hosts themselves: own hostname, address and PID space; cut, freeze, heal; nothing left behind."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.hosts import network
from tests.support.projects import unavailable

pytestmark = [pytest.mark.hosts, pytest.mark.processes]
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")}


@pytest.fixture(autouse=True)
def _possible() -> None:
    why = network.missing()
    if why:
        unavailable(why)


def left_behind(tag: str) -> str:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return "".join(line for line in (netns + links).splitlines(keepends=True) if f"cj{tag}" in line)


def test_each_host_has_its_own_hostname_address_and_pid_space_and_reaches_redis_over_its_link() -> None:
    with network.Hosts(2, services=("redis",)) as hosts:
        seen = [
            h.run(["sh", "-c", "hostname; echo $$; readlink /proc/self/ns/pid; ip -4 -o addr show eth0"], ENV).stdout
            for h in hosts
        ]
        pinged = [h.run(["redis-cli", "-h", h.gateway, "ping"], ENV).stdout.strip() for h in hosts]
        own = [h.address for h in hosts]
    names, pids, namespaces, addresses = zip(*(s.split("\n", 3) for s in seen), strict=True)
    assert names == ("host1", "host2")
    assert all(int(p) < 100 for p in pids)  # a fresh PID space each
    assert namespaces[0] != namespaces[1] != os.readlink("/proc/self/ns/pid")
    assert own[0] in addresses[0] and own[1] in addresses[1] and own[0] != own[1]
    assert pinged == ["PONG", "PONG"]


def test_a_cut_host_reaches_nothing_until_healed_and_a_frozen_one_runs_nothing_until_thawed() -> None:
    with network.Hosts(1, services=("redis",)) as (host,):
        host.cut()
        cut = host.run(["redis-cli", "-h", host.gateway, "-t", "1", "ping"], ENV, timeout=10)
        host.heal()
        healed = host.run(["redis-cli", "-h", host.gateway, "ping"], ENV, timeout=10)
        counter = host.popen(["sh", "-c", "while :; do date +%s%N; sleep 0.05; done"], ENV, stdout=subprocess.PIPE)
        time.sleep(0.3)
        host.freeze()
        os.set_blocking(counter.stdout.fileno(), False)  # type: ignore[union-attr]
        time.sleep(0.2)
        counter.stdout.read()  # type: ignore[union-attr]
        time.sleep(0.5)
        frozen = counter.stdout.read()  # type: ignore[union-attr]
        host.thaw()
        time.sleep(0.3)
        thawed = counter.stdout.read()  # type: ignore[union-attr]
        counter.kill()
        counter.communicate()
    assert "PONG" not in cut.stdout
    assert healed.stdout.strip() == "PONG"
    assert not frozen and thawed


def test_everything_is_removed_even_when_the_block_fails() -> None:
    made = network.Hosts(2, services=("redis",))
    with pytest.raises(RuntimeError, match="boom"), made:
        assert left_behind(made.tag)
        raise RuntimeError("boom")
    assert left_behind(made.tag) == ""
