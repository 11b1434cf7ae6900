"""The crontab entry that runs ``runcrons`` every minute: building it, finding it, syncing it.

One entry per project, tagged ``# cronjobs:<id>``. The id is stable (``--id``,
``CRONJOBS["INSTALL_ID"]``, else the settings module), never a path: a redeploy to a new
release directory replaces the entry instead of adding one. Syncing rewrites only the lines
carrying our tag; every other line stays byte for byte. python-crontab reads and parses the
crontab and writes it back (never through its ``with`` form, which writes even after an
error); what it writes is exactly the text computed here, not its own re-rendering.
"""

from __future__ import annotations

import dataclasses
import difflib
import fcntl
import logging
import os
import pwd
import re
import shlex
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crontab import CronItem, CronTab

from cronjobs.exceptions import CronJobsError

TAG_PREFIX = "cronjobs:"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Variable names that look like they hold a secret: never copied into a crontab.
SECRET_NAME_RE = re.compile(r"SECRET|PASSW|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|COOKIE|SALT|SIGNATURE|DSN", re.I)
#: A URL with a password in it (``scheme://user:password@host``).
SECRET_VALUE_RE = re.compile(r"://[^/\s@:]*:[^/\s@]+@")
#: Names of files cron reads in /etc/cron.d (run-parts rules: no dots).
CRON_D_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
EVERY_MINUTE = "* * * * *"
#: The longest command Vixie/Debian cron takes.
MAX_COMMAND = 998
LOCK_TIMEOUT = 30.0

logger = logging.getLogger("cronjobs")


class InstallError(CronJobsError):
    """The entry cannot be built or written; the message says what to change."""


class UnparseableCrontab(InstallError):
    """The crontab holds lines python-crontab cannot parse; nothing was written."""


# -- the entry --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Project:
    """What the entry runs: this project's ``manage.py runcrons``, the way cron must call it."""

    id: str
    """Stable identity of the entry (the tag ``# cronjobs:<id>``)."""
    python: str
    """Absolute path of the Python interpreter (of the virtualenv, not resolved)."""
    manage_py: str
    """Absolute path of ``manage.py``; the entry ``cd``s into its directory."""
    settings_module: str
    """``DJANGO_SETTINGS_MODULE`` for the run."""
    env: tuple[tuple[str, str], ...] = ()
    """Environment variables written into the entry, in order."""
    env_file: str | None = None
    """A file of ``NAME=value`` lines the entry sources at run time (for secrets)."""
    log_file: str | None = None
    """Where the output of ``runcrons`` is appended; None: cron mails it."""

    @property
    def directory(self) -> str:
        return os.path.dirname(self.manage_py)

    @property
    def tag(self) -> str:
        return TAG_PREFIX + self.id


def check_id(value: str) -> str:
    """``value`` if it can be an entry's id, else :class:`InstallError`."""
    if not isinstance(value, str) or not ID_RE.match(value):
        raise InstallError(
            f"{value!r} cannot be an installation id: use 1 to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def default_id(settings_module: str) -> str:
    """The id when none is configured: the settings module (the same in every release directory)."""
    return settings_module


def secret_names(names: list[str] | tuple[str, ...]) -> list[str]:
    """The names among ``names`` that look like they hold a secret."""
    return [name for name in names if SECRET_NAME_RE.search(name)]


def env_from(names: list[str] | tuple[str, ...], environ: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The allowlisted variables with their values from ``environ``; refuses anything secret-looking."""
    pairs = []
    for name in names:
        if not ENV_NAME_RE.match(name):
            raise InstallError(f"{name!r} is not an environment variable name")
        if secret_names([name]):
            raise InstallError(
                f"{name} looks like a secret and is never written into a crontab (readable by anyone "
                "with access to it); put it in CRONJOBS['INSTALL_ENV_FILE'], which the entry reads at run time"
            )
        if name not in environ:
            raise InstallError(f"{name} is in CRONJOBS['INSTALL_ENV'] but not set in this environment")
        value = environ[name]
        if SECRET_VALUE_RE.search(value):
            raise InstallError(f"{name} holds a URL with a password; put it in CRONJOBS['INSTALL_ENV_FILE'] instead")
        pairs.append((name, value))
    return tuple(pairs)


def quote(value: str, what: str = "value") -> str:
    """``value`` as one shell word that survives cron: no newlines, no ``#`` after blanks.

    cron turns ``%`` into newlines unless escaped; python-crontab escapes each ``%`` when it
    renders the line, so a ``\\%`` in ``value`` could not be kept and is refused. A ``#``
    after a blank would end the command for python-crontab: the quote is closed before it.
    """
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise InstallError(f"{what} {value!r} contains a control character (a newline?); cron lines cannot")
    if "\\%" in value:
        raise InstallError(f"{what} {value!r} contains '\\%', which cron cannot pass on unchanged")
    word = shlex.quote(value)
    return re.sub(r"(\s)#", r"\1''#", word)


def command(project: Project) -> str:
    """The shell command cron runs (before python-crontab escapes ``%``)."""
    parts = [f"cd {quote(project.directory, 'the project directory')} &&"]
    if project.env_file:
        parts.append(f"set -a && . {quote(project.env_file, 'the env file')} && set +a &&")
    parts.append(f"DJANGO_SETTINGS_MODULE={quote(project.settings_module, 'the settings module')}")
    parts.extend(f"{name}={quote(value, name)}" for name, value in project.env)
    parts.append(quote(project.python, "the Python path"))
    parts.append(quote(project.manage_py, "the manage.py path"))
    parts.append("runcrons")
    if project.log_file:
        parts.append(f">> {quote(project.log_file, 'the log file')} 2>&1")
    return " ".join(parts)


def entry_line(project: Project, *, run_as: str | None = None) -> str:
    """The whole crontab line, rendered by python-crontab (``run_as``: system format with a user)."""
    cmd = command(project)
    if len(cmd) > MAX_COMMAND:
        raise InstallError(
            f"the command is {len(cmd)} characters long; cron allows at most {MAX_COMMAND}. "
            "Shorten the paths, or move variables from INSTALL_ENV to INSTALL_ENV_FILE"
        )
    tab = CronTab(user=False if run_as else None)
    item = tab.new(command=cmd, comment=project.tag, user=run_as)
    item.setall(EVERY_MINUTE)
    return str(item.render())


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
    import sys

    from django.conf import settings

    from cronjobs import conf

    manage_py = os.path.abspath(manage_py)
    if not os.path.isfile(manage_py):
        raise InstallError(f"{manage_py} is not a file; pass the path of your manage.py with --manage-py")
    settings_module = getattr(settings, "SETTINGS_MODULE", None) or os.environ.get("DJANGO_SETTINGS_MODULE")
    if not settings_module:
        raise InstallError("settings are not loaded from a module (DJANGO_SETTINGS_MODULE is not set)")
    chosen_id = check_id(install_id or conf.get("INSTALL_ID") or default_id(settings_module))
    env_file = conf.get("INSTALL_ENV_FILE")
    if env_file is not None:
        env_file = os.path.abspath(os.fspath(env_file))
        if not os.path.isfile(env_file):
            raise InstallError(f"CRONJOBS['INSTALL_ENV_FILE'] {env_file} does not exist")
    configured_log = conf.get("INSTALL_LOG_FILE") if log_file is None else log_file
    if configured_log is False or (configured_log is None and not default_log):
        resolved_log = None
    elif configured_log is None:
        resolved_log = os.path.join(os.path.dirname(manage_py), "cronjobs.log")
    else:
        resolved_log = os.path.abspath(os.fspath(configured_log))
    return Project(
        id=chosen_id,
        python=os.path.abspath(sys.executable),
        manage_py=manage_py,
        settings_module=settings_module,
        env=env_from(list(conf.get("INSTALL_ENV")), dict(os.environ if environ is None else environ)),
        env_file=env_file,
        log_file=resolved_log,
    )


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


# -- syncing a crontab's text -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Sync:
    """A crontab's text before and after putting our entry in (or taking it out)."""

    before: str
    after: str
    ours: tuple[str, ...]
    """Our lines found in ``before`` (more than one: duplicates, now merged)."""
    unparseable: tuple[tuple[int, str], ...] = ()
    """Lines (number, text) python-crontab could not parse, kept as they were."""

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self, name: str) -> str:
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"{name} (installed)",
            tofile=f"{name} (new)",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def sync(text: str, tag: str, line: str | None, *, system: bool = False, force: bool = False) -> Sync:
    """Put ``line`` in place of our lines (tagged ``tag``) in ``text``; ``line=None`` removes them.

    The first of our lines is replaced in place, further ones (duplicates) are dropped; with
    none, the line is appended. Every other line is kept byte for byte. Raises
    :class:`UnparseableCrontab` for lines python-crontab cannot parse, unless ``force``.
    """
    lines = text.splitlines(keepends=True)
    kinds = _classify([raw.rstrip("\r\n") for raw in lines], tag, system=system)
    unparseable = tuple((n + 1, lines[n].rstrip("\r\n")) for n, kind in enumerate(kinds) if kind == "unparseable")
    if unparseable and not force:
        shown = "\n".join(f"  line {n}: {raw}" for n, raw in unparseable)
        raise UnparseableCrontab(
            f"the crontab has {len(unparseable)} line(s) python-crontab cannot parse; nothing was "
            f"changed:\n{shown}\nFix or remove them, or pass --force to keep them as they are"
        )
    ours = tuple(lines[n].rstrip("\r\n") for n, kind in enumerate(kinds) if kind == "ours")
    out: list[str] = []
    placed = False
    for raw, kind in zip(lines, kinds, strict=True):
        if kind != "ours":
            out.append(raw)
        elif line is not None and not placed:
            ending = raw[len(raw.rstrip("\r\n")) :] or "\n"
            out.append(line + ending)
            placed = True
    if line is not None and not placed:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append(line + "\n")
    return Sync(text, "".join(out), ours, unparseable)


def _classify(lines: list[str], tag: str, *, system: bool) -> list[str]:
    """Each line: "blank", "comment", "env", "job", "ours" or "unparseable"."""
    tab = CronTab(user=False if system else None)
    kinds = []
    with _quiet_python_crontab():
        for line in lines:
            stripped = line.strip()
            if not stripped:
                kinds.append("blank")
            elif stripped.startswith("#"):
                kinds.append("comment")
            elif _is_env(stripped):
                kinds.append("env")
            else:
                item = CronItem.from_line(line, cron=tab)
                if not (item.is_valid() and item.is_enabled()):
                    kinds.append("unparseable")
                elif item.comment == tag:
                    kinds.append("ours")
                else:
                    kinds.append("job")
    return kinds


def _is_env(line: str) -> bool:
    """An assignment, as python-crontab recognises one (``NAME=value``, no blank before ``=``)."""
    if "=" not in line:
        return False
    name = line.split("=", 1)[0]
    return bool(name) and ENV_NAME_RE.match(name) is not None


@contextmanager
def _quiet_python_crontab() -> Iterator[None]:
    """python-crontab logs every line it cannot parse; we report those ourselves."""
    log = logging.getLogger("crontab")
    previous, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = previous


# -- where crontabs live --------------------------------------------------------------------


class _ExactCronTab(CronTab):
    """python-crontab's reading and writing, writing exactly the text it is given."""

    def __init__(self, *, program: str | None = None, **kwargs: object) -> None:
        self._program = program
        self.text = ""
        with _quiet_python_crontab():
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
        return joiner.join(self._raw)

    def render(self, errors: bool = False) -> str:
        return self.text


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

    def _tab(self) -> _ExactCronTab:
        try:
            return _ExactCronTab(user=self.user if self.user != self.current else True, program=self.program)
        except OSError as exc:
            raise InstallError(self._explain(f"cannot read {self.name}: {exc}")) from None

    def read(self) -> str:
        return self._tab().raw_text("\n")

    def write(self, text: str) -> None:
        tab = self._tab()
        if not text.strip():
            result = _run([self.program or "crontab", *self._user_args(), "-r"])
            if result[0] != 0 and "no crontab" not in result[1]:
                raise InstallError(self._explain(f"cannot remove {self.name}: {result[1].strip()}"))
            return
        tab.text = text
        try:
            tab.write()
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
            raise InstallError(
                f"cron ignores files in cron.d named {self.path.name!r}: use only letters, digits, '_' and '-' "
                "(no dots), e.g. --cron-d /etc/cron.d/myproject"
            )
        if not self.path.parent.is_dir():
            raise InstallError(f"directory {self.path.parent} does not exist")

    def read(self) -> str:
        if not self.path.exists():
            return ""
        try:
            return _ExactCronTab(tabfile=str(self.path), user=False if self.system else None).raw_text("")
        except (OSError, UnicodeDecodeError) as exc:
            raise InstallError(f"cannot read {self.path}: {exc}") from None

    def write(self, text: str) -> None:
        if not text.strip():
            self.path.unlink(missing_ok=True)
            return
        if self.system:
            self._write_atomically(text)
            return
        tab = _ExactCronTab(user=None, tab="")
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
    import subprocess

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
