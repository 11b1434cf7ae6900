"""Who a process is: its host, the boot of that host's kernel, its PID namespace and its pid.

A run records the identity of the process that claimed it. Whether that process is still
alive can only be told from a process that sees the same PIDs: the same host, booted the
same time (a pid means nothing across a reboot), in the same PID namespace (containers
sharing a hostname, ``docker --network host``, Kubernetes ``hostNetwork``). Where ``/proc``
does not tell the boot or the namespace, nothing is concluded from pids: only leases decide.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class ProcessIdentity:
    """Where a process runs, as far as this host can tell."""

    hostname: str
    boot_id: str
    """The kernel's boot id (``/proc/sys/kernel/random/boot_id``); empty when unknown."""
    pid_namespace: int | None
    """The inode of ``/proc/self/ns/pid``; None when unknown."""
    pid: int

    @property
    def checks_pids(self) -> bool:
        """Whether /proc told enough (boot and PID namespace) to conclude anything from a pid."""
        return bool(self.boot_id) and self.pid_namespace is not None

    def sees_pids_of(self, hostname: str, boot_id: str, pid_namespace: int | None) -> bool:
        """Whether pids of a process at that place can be checked from here."""
        return self.checks_pids and (hostname, boot_id, pid_namespace) == (
            self.hostname,
            self.boot_id,
            self.pid_namespace,
        )

    def owner(self) -> str:
        """A token naming this process uniquely (``host:pid:random``), for locks and workers."""
        return f"{self.hostname}:{self.pid}:{secrets.token_hex(4)}"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _pid_namespace() -> int | None:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


_current: ProcessIdentity | None = None


def current() -> ProcessIdentity:
    """This process's identity (read once per process; a forked child reads its own)."""
    global _current
    if _current is None or _current.pid != os.getpid():
        _current = ProcessIdentity(socket.gethostname(), _boot_id(), _pid_namespace(), os.getpid())
    return _current


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists in this PID namespace."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
