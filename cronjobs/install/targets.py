"""Where crontab entries are installed: a user's crontab, a crontab file, cron.d; and the checks before.

python-crontab reads each crontab and writes it back (never through its ``with`` form,
which writes even after an error); what it writes is exactly the text computed by
:func:`cronjobs.crontab.sync`, not its own re-rendering. Every write happens under a lock,
so concurrent installs into one crontab never lose each other's entries.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cronjobs.install import pycrontab
from cronjobs.install.entry import (
    BadUsage,
    InstallError,
    Project,
    Sync,
    check_id,
    default_id,
    env_from,
    quiet_python_crontab,
    sync,
)

#: Names of files cron reads in /etc/cron.d (run-parts rules: no dots).
CRON_D_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
LOCK_TIMEOUT = 30.0

logger = logging.getLogger("cronjobs")


def build_project(
    *,
    manage_py: str,
    install_id: str | None = None,
    log_file: str | None = None,
    default_log: bool = True,
    environ: dict[str, str] | None = None,
) -> Project:
    """The project as ``CRONJOBS`` and the options describe it (options win over settings).

    ``default_log``: without a configured log file, append to ``cronjobs.log`` beside
    ``manage.py`` (cron); otherwise leave the output where the scheduler puts it (the journal).
    """
    from django.conf import settings

    from cronjobs import conf

    manage_py = logical_abspath(manage_py)
    if not os.path.isfile(manage_py):
        raise InstallError(f"{manage_py} is not a file; pass the path of your manage.py with --manage-py")
    settings_module = getattr(settings, "SETTINGS_MODULE", None) or os.environ.get("DJANGO_SETTINGS_MODULE")
    if not settings_module:
        raise InstallError("settings are not loaded from a module (DJANGO_SETTINGS_MODULE is not set)")
    chosen_id = check_id(install_id or conf.get("INSTALL_ID") or default_id(settings_module))
    env_file = conf.get("INSTALL_ENV_FILE")
    if env_file is not None:
        env_file = logical_abspath(os.fspath(env_file))
        if not os.path.isfile(env_file):
            raise InstallError(f"CRONJOBS['INSTALL_ENV_FILE'] {env_file} does not exist")
    configured_log = conf.get("INSTALL_LOG_FILE") if log_file is None else log_file
    if configured_log is False or (configured_log is None and not default_log):
        resolved_log = None
    elif configured_log is None:
        resolved_log = os.path.join(os.path.dirname(manage_py), "cronjobs.log")
    else:
        resolved_log = logical_abspath(os.fspath(configured_log))
    return Project(
        id=chosen_id,
        python=os.path.abspath(sys.executable),
        manage_py=manage_py,
        settings_module=settings_module,
        env=env_from(list(conf.get("INSTALL_ENV")), dict(os.environ if environ is None else environ)),
        env_file=env_file,
        log_file=resolved_log,
    )


def logical_abspath(path: str) -> str:
    """``path`` made absolute against the shell's ``$PWD``, so that symlinks such as
    ``/srv/app/current`` stay in the entry instead of the release directory they point to."""
    if os.path.isabs(path):
        return os.path.normpath(path)
    shell_pwd = os.environ.get("PWD", "")
    try:
        same = os.path.isabs(shell_pwd) and os.path.samefile(shell_pwd, os.getcwd())
    except OSError:
        same = False
    return os.path.normpath(os.path.join(shell_pwd, path)) if same else os.path.abspath(path)


def preflight(project: Project, run_as: str | None) -> list[str]:
    """Problems with the files the entry uses, as the user cron runs it as; warnings separately.

    Raises :class:`InstallError` for what would make every run fail; returns warnings.
    """
    warnings = []
    if project.log_file:
        directory = Path(project.log_file).parent
        if not directory.is_dir():
            raise InstallError(
                f"the log file's directory {directory} does not exist: create it, or set "
                "CRONJOBS['INSTALL_LOG_FILE'] (or --log-file) to a path in an existing directory"
            )
        if not writable_by(Path(project.log_file), run_as):
            who = run_as or "this user"
            raise InstallError(f"{project.log_file} cannot be written by {who}, so every run's output would be lost")
    if project.env_file:
        mode = os.stat(project.env_file).st_mode
        if mode & stat.S_IROTH:
            warnings.append(f"{project.env_file} is readable by every user; if it holds secrets, chmod o-r it")
    return warnings


@functools.cache
def _exact_crontab_class() -> Any:
    """The class below, built on python-crontab when first needed (never at import: see pycrontab)."""
    base = pycrontab.load().CronTab

    class _ExactCronTab(base):  # type: ignore[valid-type,misc]
        """python-crontab's reading and writing, writing exactly the text it is given."""

        def __init__(self, *, program: str | None = None, **kwargs: object) -> None:
            self._program = program
            self.text = ""
            with quiet_python_crontab():
                super().__init__(**kwargs)

        def read(self, filename: str | None = None) -> None:
            if self._program:
                self.cron_command = shlex.quote(self._program)
            self._raw: list[str] = []
            super().read(filename)

        def __setattr__(self, name: str, value: object) -> None:
            if name == "lines" and value:
                self._raw = list(value)  # type: ignore[call-overload]
            super().__setattr__(name, value)

        def raw_text(self, joiner: str) -> str:
            """The crontab exactly as read (lines joined back with ``joiner``)."""
            if not self._raw and (self.lines or self.crons or len(self.env) or self._parked_env):
                # python-crontab parsed something we did not capture: writing would lose it.
                raise InstallError("this version of python-crontab reads crontabs in a way cronjobs does not know")
            return joiner.join(self._raw)

        def render(self, errors: bool = False) -> str:
            return self.text

    return _ExactCronTab


def __getattr__(name: str) -> Any:
    if name == "_ExactCronTab":
        return _exact_crontab_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Target:
    """A crontab the entry can be written to."""

    system = False
    """True when lines carry a user field (``/etc/cron.d``)."""
    name = ""

    def read(self) -> str:
        raise NotImplementedError

    def write(self, text: str) -> None:
        raise NotImplementedError

    def lock_path(self) -> Path:
        raise NotImplementedError

    @contextmanager
    def locked(self, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
        """Excludes other installs into the same crontab during read-modify-write."""
        path = self.lock_path()
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (0 if path.is_dir() else os.O_CREAT), 0o600)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise InstallError(
                            f"another installcrons has held the lock on {self.name} for {timeout:.0f}s "
                            f"({path}); try again when it has finished"
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)


class UserCrontab(Target):
    """A user's crontab, through the ``crontab`` program."""

    def __init__(self, user: str | None = None, program: str | None = None) -> None:
        self.program = program or crontab_program()
        if self.program is None:
            raise InstallError(
                "there is no `crontab` program on this host (is cron installed?). Where cron cannot run, "
                "as in most containers, run `manage.py runcrons --loop` as a long-running process instead, "
                "or use --systemd DIR for a systemd timer"
            )
        self.current = pwd.getpwuid(os.getuid()).pw_name
        if user is not None:
            try:
                pwd.getpwnam(user)
            except KeyError:
                raise InstallError(f"there is no user {user!r} on this host") from None
        self.user = user or self.current
        self.name = f"the crontab of {self.user}"

    def _tab(self) -> Any:
        try:
            return _exact_crontab_class()(user=self.user if self.user != self.current else True, program=self.program)
        except OSError as exc:
            raise InstallError(self._explain(f"cannot read {self.name}: {exc}")) from None

    def read(self) -> str:
        return self._tab().raw_text("\n")

    def write(self, text: str) -> None:
        if not text.strip():
            # python-crontab cannot remove a crontab; an empty one would stay behind as a file.
            result = _run([self.program or "crontab", *self._user_args(), "-r"])
            if result[0] != 0 and "no crontab" not in result[1]:
                raise InstallError(self._explain(f"cannot remove {self.name}: {result[1].strip()}"))
            return
        tab = _exact_crontab_class()(tab="", program=self.program)  # nothing to read: it only writes
        tab.text = text
        try:
            tab.write(user=self.user if self.user != self.current else True)
        except OSError as exc:
            raise InstallError(self._explain(f"cannot write {self.name}: {exc}")) from None

    def _user_args(self) -> list[str]:
        return ["-u", self.user] if self.user != self.current else []

    def _explain(self, message: str) -> str:
        if self.user != self.current and ("privileged" in message or "not allowed" in message):
            return f"{message.rstrip()}\n--user {self.user} needs root (or run installcrons as {self.user})"
        return message

    def lock_path(self) -> Path:
        directory = Path(tempfile.gettempdir()) / f"cronjobs-{os.getuid()}"
        _private_dir(directory)
        return directory / f"install-crontab-{self.user}.lock"


class FileCrontab(Target):
    """A crontab in a file (``--tabfile``), or a system crontab (``--cron-d``)."""

    def __init__(self, path: str | os.PathLike[str], *, system: bool = False) -> None:
        self.path = Path(os.path.abspath(path))
        self.system = system
        self.name = str(self.path)
        if system and not CRON_D_NAME_RE.match(self.path.name):
            raise BadUsage(
                f"cron ignores files in cron.d named {self.path.name!r}: use only letters, digits, '_' and '-' "
                "(no dots), e.g. --cron-d /etc/cron.d/myproject"
            )
        if not self.path.parent.is_dir():
            raise InstallError(f"directory {self.path.parent} does not exist")

    def read(self) -> str:
        if not self.path.exists():
            return ""
        try:
            return _exact_crontab_class()(tabfile=str(self.path), user=False if self.system else None).raw_text("")
        except (OSError, UnicodeDecodeError) as exc:
            raise InstallError(f"cannot read {self.path}: {exc}") from None

    def write(self, text: str) -> None:
        if not text.strip():
            self.path.unlink(missing_ok=True)
            return
        if self.system:
            self._write_atomically(text)
            return
        tab = _exact_crontab_class()(user=None, tab="")
        tab.text = text
        try:
            tab.write(str(self.path))
        except OSError as exc:
            raise InstallError(f"cannot write {self.path}: {exc}") from None

    def _write_atomically(self, text: str) -> None:
        """cron reads cron.d files whenever they change: never let it see half a file."""
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".cronjobs-")
        except OSError as exc:
            raise InstallError(f"cannot write in {self.path.parent}: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def lock_path(self) -> Path:
        return self.path.parent


def crontab_program() -> str | None:
    """The ``crontab`` program on PATH, or None."""
    return shutil.which("crontab")


def cron_daemon_running(proc: Path = Path("/proc")) -> bool | None:
    """Whether a cron daemon runs on this host; None when it cannot be told (no /proc)."""
    if not proc.is_dir():
        return None
    names = {"cron", "crond", "cronie", "fcron", "busybox-crond"}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    return True
            except OSError:
                continue
    return False


def writable_by(path: Path, user: str | None) -> bool:
    """Whether ``user`` (None: this process) could create or append to ``path``."""
    target = path if path.exists() else path.parent
    if user is None or user == pwd.getpwuid(os.getuid()).pw_name:
        return os.access(target, os.W_OK | (os.X_OK if target.is_dir() else 0))
    info = pwd.getpwnam(user)
    if info.pw_uid == 0:
        return True
    groups = set(os.getgrouplist(user, info.pw_gid))

    def allowed(where: Path, need: int) -> bool:
        st = where.stat()
        if st.st_uid == info.pw_uid:
            return st.st_mode & need == need
        if st.st_gid in groups:
            return st.st_mode & (need >> 3) == need >> 3
        return st.st_mode & (need >> 6) == need >> 6

    searchable = all(allowed(parent, stat.S_IXUSR) for parent in target.resolve().parents)
    need = (stat.S_IWUSR | stat.S_IXUSR) if target.is_dir() else stat.S_IWUSR
    return searchable and allowed(target, need)


def _private_dir(path: Path) -> None:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise InstallError(f"{path} is not a directory of this user; remove it")


def _run(args: list[str]) -> tuple[int, str]:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    return result.returncode, result.stderr


def apply(target: Target, tag: str, line: str | None, *, write: bool, force: bool = False) -> Sync:
    """Sync ``target`` so that it holds ``line`` as our entry (None: none); write only if ``write``.

    Writing happens under a lock, so that concurrent installs into one crontab each see
    the other's result instead of overwriting it.
    """
    if not write:
        return sync(target.read(), tag, line, system=target.system, force=force)
    with target.locked():
        result = sync(target.read(), tag, line, system=target.system, force=force)
        if result.changed:
            target.write(result.after)
            logger.info("%s: wrote %s", tag, target.name)
    return result
