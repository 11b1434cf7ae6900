"""A systemd ``.service`` and ``.timer`` pair that runs ``runcrons`` every minute, for hosts without cron.

The units are named ``cronjobs-<id>``, so a redeploy rewrites the same pair. They pass
``systemd-analyze verify``. Enabling them is left to the operator
(``systemctl daemon-reload && systemctl enable --now cronjobs-<id>.timer``).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path

from cronjobs.install.entry import InstallError, Project, Sync


def unit_name(project: Project) -> str:
    return f"cronjobs-{project.id}"


def units(project: Project, *, run_as: str | None = None) -> dict[str, str]:
    """File name -> content of the service and timer units."""
    name = unit_name(project)
    service = [
        f"# Written by `manage.py installcrons --systemd` (id {project.id}); runs what is due.",
        "[Unit]",
        f"Description=cronjobs: run the due jobs of {_specifiers(project.id)}",
        "",
        "[Service]",
        "Type=oneshot",
    ]
    if run_as:
        service.append(f"User={_plain(run_as, 'the user')}")
    service.append(f"WorkingDirectory={_plain(project.directory, 'the project directory')}")
    if project.env_file:
        service.append(f"EnvironmentFile={_plain(project.env_file, 'the env file')}")
    env = [("DJANGO_SETTINGS_MODULE", project.settings_module), *project.env]
    service.append("Environment=" + " ".join(_quoted(f"{key}={value}", key) for key, value in env))
    args = [project.python, project.manage_py, "runcrons"]
    service.append("ExecStart=" + " ".join(_quoted(arg, "the command", command=True) for arg in args))
    if project.log_file:
        service.append(f"StandardOutput=append:{_plain(project.log_file, 'the log file')}")
        service.append("StandardError=inherit")
    timer = [
        f"# Written by `manage.py installcrons --systemd` (id {project.id}): starts {name}.service every minute.",
        "[Unit]",
        f"Description=cronjobs: every minute, run the due jobs of {_specifiers(project.id)}",
        "",
        "[Timer]",
        "OnCalendar=*-*-* *:*:00",
        "AccuracySec=1s",
        f"Unit={name}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]
    return {f"{name}.service": "\n".join(service) + "\n", f"{name}.timer": "\n".join(timer) + "\n"}


@dataclasses.dataclass(frozen=True)
class UnitsSync:
    """The unit files before and after, one :class:`~cronjobs.crontab.Sync` per file."""

    directory: Path
    files: dict[str, Sync]

    @property
    def changed(self) -> bool:
        return any(s.changed for s in self.files.values())

    @property
    def existed(self) -> bool:
        return any(s.before for s in self.files.values())

    def diff(self) -> str:
        return "".join(s.diff(str(self.directory / name)) for name, s in self.files.items())


def apply(directory: Path, wanted: dict[str, str], *, remove: bool, write: bool) -> UnitsSync:
    """Bring the unit files in ``directory`` to ``wanted`` (or remove them); write only if ``write``."""
    if not directory.is_dir():
        raise InstallError(f"directory {directory} does not exist")
    files = {}
    for name, content in wanted.items():
        path = directory / name
        before = path.read_text(encoding="utf-8") if path.exists() else ""
        files[name] = Sync(before, "" if remove else content, ())
    result = UnitsSync(directory, files)
    if write:
        for name, change in files.items():
            if change.changed:
                _write(directory / name, change.after)
    return result


def _write(path: Path, text: str) -> None:
    if not text:
        path.unlink(missing_ok=True)
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cronjobs-")
    except OSError as exc:
        raise InstallError(f"cannot write in {path.parent}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check(value: str, what: str) -> str:
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise InstallError(f"{what} {value!r} contains a control character; unit files cannot hold it")
    return value


def _specifiers(value: str) -> str:
    """systemd expands ``%x`` specifiers in most settings: ``%%`` is a literal ``%``."""
    return value.replace("%", "%%")


def _plain(value: str, what: str) -> str:
    """A path or name as a setting's whole value (no quoting: the value runs to the end of the line)."""
    return _specifiers(_check(value, what))


def _quoted(value: str, what: str, *, command: bool = False) -> str:
    """One word of ``ExecStart=`` or ``Environment=``: double quotes, C escapes, ``%%`` (``$$`` in commands)."""
    escaped = _specifiers(_check(value, what).replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + (escaped.replace("$", "$$") if command else escaped) + '"'
