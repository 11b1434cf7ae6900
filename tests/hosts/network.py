"""Test hosts on this machine: each a network, UTS, mount and PID namespace with its own hostname and address.

A :class:`Host` is a network namespace (``ip netns``) joined to the root namespace by a veth
pair (host side ``10.214.N.1``, inside ``10.214.N.2``), with a long-lived ``unshare --uts --pid
--mount-proc`` process whose namespaces every command on that host enters (``nsenter``): its own
hostname, PID space and /proc. The database, cache and broker servers listen on 127.0.0.1
only, and stay as they are: for each host and each service, a ``socat`` relay in the root
namespace listens on the host side of that host's veth (``10.214.N.1:PORT``) and forwards to
127.0.0.1. So a host reaches PostgreSQL, MariaDB and Redis only over its own link, which
:meth:`Host.cut` takes down (packets to and from it are lost: a partition) and
:meth:`Host.heal` brings back; :meth:`Host.cut_service` stops one relay (SIGSTOP: connections
hang, as behind a silent firewall) and :meth:`Host.heal_service` resumes it. :meth:`Host.freeze`
stops every process of the host (SIGSTOP), :meth:`Host.thaw` resumes them.

:class:`Hosts` creates them and removes all it created (namespaces, links, relays, processes)
when the ``with`` block ends, however it ends. Needs root, iproute2, util-linux and socat.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: The services a host reaches through its relays: name -> port on 127.0.0.1 (and on the relay).
SERVICES = {
    "postgresql": int(os.environ.get("CRONJOBS_TEST_PG_PORT", "5432")),
    "mysql": int(os.environ.get("CRONJOBS_TEST_MYSQL_PORT", "3306")),
    "redis": 6379,
}
#: On a host's PYTHONPATH: its processes' clock (``clock=`` of :meth:`Host.popen`) is shifted.
CLOCK_DIR = Path(__file__).resolve().parent / "clock"


def missing() -> str | None:
    """Why hosts cannot be built here; None when they can."""
    if os.geteuid() != 0:
        return "test hosts need root (network namespaces, veth links)"
    for tool in ("ip", "unshare", "nsenter", "socat"):
        if shutil.which(tool) is None:
            return f"test hosts need {tool}"
    return None


def _sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=30)


@dataclass
class Host:
    """One test host: see the module's doc."""

    name: str
    """Its hostname (and the suffix of its namespace's name)."""
    index: int
    netns: str
    host_link: str
    address: str
    """Its own address, inside its namespace."""
    gateway: str
    """The root namespace's end of its link: where its relays listen."""
    init: subprocess.Popen | None = None
    """``unshare``, which holds the namespaces (and kills its child with it)."""
    pid1: int = 0
    """PID 1 of the host's PID namespace, as the root namespace sees it: what ``nsenter`` enters."""
    relays: dict[str, subprocess.Popen] = field(default_factory=dict)
    skew: float = 0.0
    """Seconds its clock is ahead (negative: behind) of the test's fake clock."""

    # -- running commands on the host ----------------------------------------------------

    def command(self, args: list[str]) -> list[str]:
        """``args`` run inside this host's namespaces."""
        assert self.pid1
        return ["nsenter", "-t", str(self.pid1), "--net", "--uts", "--pid", "--mount", "--", *args]

    def popen(
        self, args: list[str], env: Mapping[str, str], *, clock: float | None = None, **kwargs
    ) -> subprocess.Popen:
        """Start ``args`` on this host; ``clock``: the fake time (epoch seconds) its Python process
        starts at (plus the host's skew), advancing in real time from there."""
        env = dict(env)
        if clock is not None:  # see clock/sitecustomize.py
            env["CRONJOBS_TEST_CLOCK_OFFSET"] = str(clock + self.skew - time.time())
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CLOCK_DIR), env.get("PYTHONPATH", "")]))
        return subprocess.Popen(self.command(args), env=env, **kwargs)

    def run(self, args: list[str], env: Mapping[str, str], *, clock: float | None = None, timeout: float = 120):
        process = self.popen(args, env, clock=clock, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def database_env(self) -> dict[str, str]:
        """The environment that points tests/settings.py at the servers through this host's relays."""
        return {
            "CRONJOBS_TEST_PG_HOST": self.gateway,
            "CRONJOBS_TEST_MYSQL_HOST": self.gateway,
            "CRONJOBS_TEST_REDIS_URL": f"redis://{self.gateway}:{SERVICES['redis']}/0",
        }

    # -- faults --------------------------------------------------------------------------

    def cut(self) -> None:
        """Take the host's link down: nothing gets in or out until :meth:`heal`."""
        _sh("ip", "link", "set", self.host_link, "down")

    def heal(self) -> None:
        _sh("ip", "link", "set", self.host_link, "up")

    def cut_service(self, service: str) -> None:
        """Stop the relay to ``service`` (and its open connections): they hang, unanswered."""
        os.killpg(self.relays[service].pid, signal.SIGSTOP)

    def heal_service(self, service: str) -> None:
        os.killpg(self.relays[service].pid, signal.SIGCONT)

    def freeze(self) -> None:
        """Stop every process on the host (its PID namespace) but the namespace's init."""
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def _pids(self) -> list[int]:
        """The host's processes but its PID 1 (freezing that would stop nothing more)."""
        if not self.pid1:
            return []
        with contextlib.suppress(OSError):
            mine = os.readlink(f"/proc/{self.pid1}/ns/pid")
            pids = []
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) == self.pid1:
                    continue
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry}/ns/pid") == mine:
                        pids.append(int(entry))
            return pids
        return []


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def _comm(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


class Hosts:
    """``with Hosts(3) as hosts:`` builds three hosts and removes all of it afterwards."""

    def __init__(self, count: int, services: tuple[str, ...] = tuple(SERVICES)) -> None:
        self.count = count
        self.services = services
        self.tag = secrets.token_hex(2)
        self.subnet = 0
        self._subnet_lock = -1
        self.hosts: list[Host] = []

    def __enter__(self) -> list[Host]:
        try:
            self.subnet, self._subnet_lock = _reserve_subnet(int(self.tag, 16))
            for index in range(self.count):
                self.hosts.append(self._create(index))
        except BaseException:
            self.close()
            raise
        return self.hosts

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _create(self, index: int) -> Host:
        name = f"host{index + 1}"
        prefix = f"10.214.{self.subnet}"
        host = Host(
            name=name,
            index=index,
            netns=f"cj{self.tag}{name}",
            host_link=f"cj{self.tag}h{index}",
            address=f"{prefix}.{index * 4 + 2}",
            gateway=f"{prefix}.{index * 4 + 1}",
        )
        self.hosts.append(host)  # from here on, close() removes what exists of it
        _sh("ip", "netns", "add", host.netns)
        _sh("ip", "link", "add", host.host_link, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
        _sh("ip", "addr", "add", f"{host.gateway}/30", "dev", host.host_link)
        _sh("ip", "link", "set", host.host_link, "up")
        inside = ["ip", "netns", "exec", host.netns]
        _sh(*inside, "ip", "addr", "add", f"{host.address}/30", "dev", "eth0")
        _sh(*inside, "ip", "link", "set", "eth0", "up")
        _sh(*inside, "ip", "link", "set", "lo", "up")
        host.init = subprocess.Popen(
            [
                *inside,
                "unshare",
                "--uts",
                "--pid",
                "--fork",
                "--mount-proc",
                "--kill-child",
                "sh",
                "-c",
                f"hostname {name} && exec sleep infinity",
            ],
            start_new_session=True,
        )
        for service in self.services:
            port = SERVICES[service]
            host.relays[service] = subprocess.Popen(
                ["socat", f"TCP-LISTEN:{port},bind={host.gateway},fork,reuseaddr", f"TCP:127.0.0.1:{port}"],
                start_new_session=True,
                stderr=subprocess.DEVNULL,
            )
        self._wait_ready(host)
        self.hosts.pop()
        return host

    def _wait_ready(self, host: Host) -> None:
        deadline = time.monotonic() + 10
        assert host.init is not None
        while time.monotonic() < deadline:
            sleeping = [c for c in _children(host.init.pid) if _comm(c) == "sleep"]
            if sleeping and all(_listening(host.gateway, SERVICES[s]) for s in self.services):
                host.pid1 = sleeping[0]
                named = _sh(*host.command(["hostname"])).stdout.strip()
                if named != host.name:
                    raise RuntimeError(f"test host {host.name} calls itself {named!r}")
                return
            time.sleep(0.05)
        raise RuntimeError(f"test host {host.name} did not come up")

    def close(self) -> None:
        """Remove everything created, in reverse; never raises for what is already gone."""
        for host in reversed(self.hosts):
            for relay in host.relays.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(relay.pid, signal.SIGCONT)
                    os.killpg(relay.pid, signal.SIGKILL)
                relay.wait(timeout=10)
            if host.init is not None:
                host.thaw()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(host.init.pid, signal.SIGKILL)
                host.init.wait(timeout=10)
            _sh("ip", "link", "del", host.host_link, check=False)
            _sh("ip", "netns", "del", host.netns, check=False)
        self.hosts.clear()
        if self._subnet_lock >= 0:
            os.close(self._subnet_lock)  # the subnet is free for another run
            self._subnet_lock = -1


#: Where the runs of this machine (tests side by side, other checkouts) reserve their subnets.
SUBNET_LOCKS = Path(os.environ.get("TMPDIR", "/tmp")) / f"cronjobs-tests-subnets-{os.getuid()}"


def _reserve_subnet(start: int) -> tuple[int, int]:
    """A /24 of 10.214.0.0/16 that no other run of this machine holds, and the fd of the flock
    that holds it for this one (released when the fd is closed, or the process dies)."""
    SUBNET_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for step in range(200):
        subnet = 16 + (start + step) % 200
        fd = os.open(SUBNET_LOCKS / str(subnet), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return subnet, fd
    raise RuntimeError("every test subnet of 10.214.0.0/16 is taken by other runs")


def _listening(address: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=0.2):
        return True
    return False


@contextlib.contextmanager
def no_hosts_left(tag: str) -> Iterator[None]:
    """Assert, after the block, that no namespace or link named with ``tag`` is left."""
    yield
    assert tag not in _sh("ip", "netns", "list").stdout
    assert f"cj{tag}" not in _sh("ip", "link").stdout
