"""``lock = "file"``: a kernel lock (flock) on a file in a private directory.

The kernel releases it when the process dies, however it dies. It only excludes processes
on the same host: use the database or cache lock when several hosts run the jobs.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import stat
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from cronjobs import conf
from cronjobs.exceptions import LockError
from cronjobs.locks import Lock


def lock_dir() -> Path:
    """``CRONJOBS["LOCK_DIR"]``, or a directory private to this user and project."""
    configured = conf.get("LOCK_DIR")
    if configured is not None:
        return Path(configured)
    project = f"{settings.SETTINGS_MODULE}:{settings.DATABASES.get('default', {}).get('NAME')}"
    digest = hashlib.sha256(project.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"cronjobs-{os.getuid()}" / digest


_checked: set[Path] = set()


def _ensure_private_dir(path: Path) -> None:
    """Create the lock directory (0700) or check that it is a private one; once per process."""
    if path in _checked:
        return
    _do_ensure_private_dir(path)
    _checked.add(path)


def _do_ensure_private_dir(path: Path) -> None:
    configured = conf.get("LOCK_DIR") is not None
    for directory in (path,) if configured else (path.parent, path):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        problem = untrusted(directory)
        if problem:
            raise LockError(f"{problem}; see `manage.py check`")
        # A directory cronjobs made for itself is made private again; a configured one is the
        # user's to set (``manage.py check`` warns when others may write to it).
        if not configured and os.lstat(directory).st_mode & 0o077:
            os.chmod(directory, 0o700)


def directories() -> list[Path]:
    """The lock directory and, when it is the default one, its per-user parent."""
    path = lock_dir()
    return [path] if conf.get("LOCK_DIR") is not None else [path.parent, path]


def untrusted(directory: Path) -> str | None:
    """Why ``directory`` (if it exists) cannot hold this user's locks: a symlink, not a
    directory, or another user's. None when it is missing or this user's own."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return f"lock directory {directory} is not a directory (a symlink?)"
    if info.st_uid != os.getuid():
        return f"lock directory {directory} belongs to uid {info.st_uid}, not to this user (uid {os.getuid()})"
    return None


@functools.lru_cache(maxsize=4096)
def _file_name(name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:100]
    return f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}.lock"


class FileLock(Lock):
    """An exclusive, non-blocking ``flock`` on ``LOCK_DIR/<name>.lock``."""

    def __init__(self, name: str, *, ttl: timedelta, owner: str) -> None:
        super().__init__(name, ttl=ttl, owner=owner)
        self.path = lock_dir() / _file_name(name)
        self._fd: int | None = None

    def _open(self) -> int:
        _ensure_private_dir(self.path.parent)
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            return os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise LockError(f"cannot open lock file {self.path}: {exc.strerror}") from exc

    def acquire(self) -> bool:
        if self._fd is not None:
            raise LockError(f"lock {self.name!r} is already held by this object")
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError as exc:
            os.close(fd)
            raise LockError(f"cannot lock {self.path}: {exc.strerror}") from exc
        os.ftruncate(fd, 0)
        os.write(fd, self.owner.encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def holder(self) -> str | None:
        if self._fd is not None:
            return self.owner
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.read(fd, 512).decode(errors="replace") or "unknown"
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def break_lock(self) -> str | None:
        """Unlink the lock file: the next ``acquire()`` locks a new file.

        A kernel lock cannot be taken from a live process; the holder keeps running with
        its lock on the unlinked file (stop it yourself if it hangs), but no longer keeps
        the next run from starting.
        """
        holder = self.holder()
        if holder is None:
            return None
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LockError(f"cannot remove lock file {self.path}: {exc.strerror}") from exc
        return holder
