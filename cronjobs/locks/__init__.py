"""Locks that keep a job from running twice at once. Separate from slot claims.

A lock is taken without waiting: ``acquire()`` says whether this process got it.
"""

from __future__ import annotations

import functools
import os
import secrets
import socket
from datetime import timedelta

from django.utils.module_loading import import_string

#: Lock names users can give (``lock = "..."``, ``CRONJOBS["LOCK"]``) and their classes.
BACKENDS: dict[str, str] = {
    "file": "cronjobs.locks.file.FileLock",
    "database": "cronjobs.locks.database.DatabaseLock",
    "cache": "cronjobs.locks.cache.CacheLock",
}


class Lock:
    """One named lock held (or not) by this process."""

    def __init__(self, name: str, *, ttl: timedelta, owner: str) -> None:
        self.name = name
        self.ttl = ttl
        self.owner = owner

    def acquire(self) -> bool:
        """Take the lock if it is free; never waits."""
        raise NotImplementedError

    def renew(self) -> bool:
        """Extend the lease of a held lock by ``ttl``; False when it was lost (expired and taken).

        Locks without a lease (the file lock) have nothing to renew.
        """
        return True

    def release(self) -> None:
        """Give the lock up; a no-op when this process does not hold it."""
        raise NotImplementedError

    def holder(self) -> str | None:
        """Who holds the lock now, as far as can be told, or None."""
        raise NotImplementedError

    def break_lock(self) -> str | None:
        """Take the lock away from whoever holds it, so that the next run can start.

        For people operating the jobs (``manage.py cronjobs unlock``), not for code paths
        of the runner. Returns the holder it broke, or None when the lock was free.
        Raises :class:`~cronjobs.exceptions.LockError` when this backend cannot break it.
        """
        raise NotImplementedError

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def make_owner() -> str:
    """An identity unique to this process: host, pid and a random token."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"


def get_lock(backend: str, name: str, *, ttl: timedelta, owner: str | None = None) -> Lock:
    """The lock ``name`` of the given backend."""
    return _class(BACKENDS[backend])(name, ttl=ttl, owner=owner or make_owner())


@functools.cache
def _class(path: str) -> type[Lock]:
    return import_string(path)
