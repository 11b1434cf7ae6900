"""The crontab entry that runs ``runcrons`` every minute: building the line, finding it, syncing it.

One entry per project, tagged ``# cronjobs:<id>``. The id is stable (``--id``,
``CRONJOBS["INSTALL_ID"]``, else the settings module), never a path: a redeploy to a new
release directory replaces the entry instead of adding one. Syncing rewrites only the lines
carrying our tag; every other line stays byte for byte. Everything here works on text;
:mod:`cronjobs.install` reads and writes the crontabs.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager

from cronjobs.exceptions import CronJobsError
from cronjobs.install import pycrontab

TAG_PREFIX = "cronjobs:"
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Variable names that look like they hold a secret: never copied into a crontab.
SECRET_NAME_RE = re.compile(r"SECRET|PASSW|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|COOKIE|SALT|SIGNATURE|DSN", re.I)
#: A URL with a password in it (``scheme://user:password@host``).
SECRET_VALUE_RE = re.compile(r"://[^/\s@:]*:[^/\s@]+@")
EVERY_MINUTE = "* * * * *"
#: The longest command Debian's crontab accepts (longer: "command too long").
MAX_COMMAND = 998


class InstallError(CronJobsError):
    """The entry cannot be built or written; the message says what to change."""


class BadUsage(InstallError):
    """What the command line names cannot work (such as a cron.d file name cron ignores): exit 2."""


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
    tab = pycrontab.load().CronTab(user=False if run_as else None)
    item = tab.new(command=command(project), comment=project.tag, user=run_as)
    item.setall(EVERY_MINUTE)
    line = str(item.render())
    # What cron hands to the shell: everything after the time fields (and the user), tag included.
    cron_command = line.split(" ", 5 + (1 if run_as else 0))[-1]
    if len(cron_command) > MAX_COMMAND:
        raise InstallError(
            f"the command is {len(cron_command)} characters long; cron allows at most {MAX_COMMAND}. "
            "Shorten the paths, or move variables from INSTALL_ENV to INSTALL_ENV_FILE"
        )
    return line


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
    python_crontab = pycrontab.load()
    tab = python_crontab.CronTab(user=False if system else None)
    kinds = []
    with quiet_python_crontab():
        for line in lines:
            stripped = line.strip()
            if not stripped:
                kinds.append("blank")
            elif stripped.startswith("#"):
                kinds.append("comment")
            elif _is_env(stripped):
                kinds.append("env")
            else:
                item = python_crontab.CronItem.from_line(line, cron=tab)
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
def quiet_python_crontab() -> Iterator[None]:
    """python-crontab logs every line it cannot parse; we report those ourselves."""
    log = logging.getLogger("crontab")
    previous, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = previous
