"""``manage.py installcrons``: write, show, verify or remove this project's crontab entry."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management import BaseCommand, CommandError
from django.core.management.base import SystemCheckError

from cronjobs.install import entry, pycrontab, systemd, targets
from cronjobs.install.entry import BadUsage, InstallError

EXIT_DIFFERS = 1
EXIT_FAILED = 1
EXIT_USAGE = 2
LOOP_HINT = "run `manage.py runcrons --loop` as a long-running process instead, or use --systemd DIR"


class Command(BaseCommand):
    help = "Install the crontab entry that runs `runcrons` every minute for this project (one tagged line)."
    requires_system_checks: list[str] = []  # run in handle(), to exit 2 on bad configuration

    def add_arguments(self, parser: Any) -> None:
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--dry-run", action="store_true", help="Show the change as a unified diff; write nothing.")
        mode.add_argument(
            "--check", action="store_true", help="Exit 1 when the installed entry differs from what would be written."
        )
        parser.add_argument("--remove", action="store_true", help="Remove this project's entry (and nothing else).")
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--user", metavar="USER", help="The crontab of USER (needs root).")
        target.add_argument("--tabfile", metavar="PATH", help="A crontab file instead of a user's crontab.")
        target.add_argument(
            "--cron-d", metavar="PATH", help="A system crontab file such as /etc/cron.d/myproject (needs --run-as)."
        )
        target.add_argument("--systemd", metavar="DIR", help="A .service and .timer pair in DIR instead of cron.")
        parser.add_argument("--run-as", metavar="USER", help="The user the job runs as (--cron-d, --systemd).")
        parser.add_argument("--id", help="Identity of the entry (default: CRONJOBS['INSTALL_ID'], else the settings).")
        parser.add_argument(
            "--log-file",
            metavar="PATH",
            help="Append runcrons' output here (default: CRONJOBS['INSTALL_LOG_FILE'], else cronjobs.log "
            "beside manage.py).",
        )
        parser.add_argument(
            "--manage-py", metavar="PATH", help="The project's manage.py (default: the one running this command)."
        )
        parser.add_argument(
            "--force", action="store_true", help="Proceed past crontab lines python-crontab cannot parse (kept as is)."
        )

    def handle(self, **options: Any) -> None:
        try:
            self.check()
        except SystemCheckError as exc:
            raise CommandError(f"configuration errors, nothing was written:\n{exc}", returncode=EXIT_USAGE) from None
        if options["cron_d"] and not options["run_as"]:
            raise CommandError(
                "--cron-d needs --run-as USER: system crontab lines name their user", returncode=EXIT_USAGE
            )
        if options["run_as"] and not (options["cron_d"] or options["systemd"]):
            raise CommandError("--run-as goes with --cron-d or --systemd", returncode=EXIT_USAGE)
        write = not (options["dry_run"] or options["check"])
        found = pycrontab.diagnose()
        if found.shadowed_by is not None and found.python_crontab_file is not None:
            self.stderr.write(
                f"note: `import crontab` gives {found.shadowed_by} ({found.module_file}), not python-crontab; "
                f"{found.hint}"
            )
        try:
            pycrontab.load()
            project = targets.build_project(
                manage_py=options["manage_py"] or _running_manage_py(),
                install_id=options["id"],
                log_file=options["log_file"],
                default_log=not options["systemd"],
            )
            if options["systemd"]:
                self._systemd(project, Path(options["systemd"]), options, write)
            else:
                self._crontab(project, options, write)
        except BadUsage as exc:  # nothing was written
            raise CommandError(str(exc), returncode=EXIT_USAGE) from None
        except InstallError as exc:  # UnparseableCrontab included: nothing was written
            raise CommandError(str(exc), returncode=EXIT_FAILED) from None
        except pycrontab.PythonCrontabUnavailable as exc:
            raise CommandError(f"{exc} Nothing was written.", returncode=EXIT_USAGE) from None

    def _crontab(self, project: entry.Project, options: dict[str, Any], write: bool) -> None:
        target: targets.Target
        if options["tabfile"]:
            target = targets.FileCrontab(options["tabfile"])
        elif options["cron_d"]:
            target = targets.FileCrontab(options["cron_d"], system=True)
        else:
            target = targets.UserCrontab(options["user"])
        run_as = options["run_as"] or options["user"]
        line = None if options["remove"] else entry.entry_line(project, run_as=options["run_as"])
        if line is not None:
            for warning in targets.preflight(project, run_as):
                self.stderr.write(f"warning: {warning}")
        shown = write or options["dry_run"]  # a dry run is where one looks before installing
        if not options["tabfile"] and shown and line is not None and targets.cron_daemon_running() is False:
            self.stderr.write(
                "warning: no cron daemon is running on this host (as in most containers), so the entry will "
                f"not run until one is started; {LOOP_HINT}"
            )
        result = targets.apply(target, project.tag, line, write=write, force=options["force"])
        for number, raw in result.unparseable:
            self.stderr.write(f"warning: kept line {number}, which python-crontab cannot parse: {raw}")
        where = f"{target.name} (id {project.id})"
        manage_py = entry.quote(project.manage_py).replace("%", "\\%")  # as it appears in a line
        if line is not None and result.ours and not any(manage_py in old for old in result.ours):
            self.stderr.write(
                f"note: this replaces an entry with id {project.id} for another manage.py; if that is a "
                "different deployment rather than an older release of this one, give each its own --id"
            )
        self._report(result.changed, bool(result.ours), result.diff(target.name), where, options)

    def _systemd(self, project: entry.Project, directory: Path, options: dict[str, Any], write: bool) -> None:
        wanted = systemd.units(project, run_as=options["run_as"])
        if not options["remove"]:
            for warning in targets.preflight(project, options["run_as"]):
                self.stderr.write(f"warning: {warning}")
        result = systemd.apply(directory, wanted, remove=options["remove"], write=write)
        where = f"{directory} (units {systemd.unit_name(project)}.service and .timer)"
        self._report(result.changed, result.existed, result.diff(), where, options)
        if write and result.changed and not options["remove"]:
            self.stdout.write(
                f"Enable it with: systemctl daemon-reload && systemctl enable --now {systemd.unit_name(project)}.timer"
            )

    def _report(self, changed: bool, existed: bool, diff: str, where: str, options: dict[str, Any]) -> None:
        removing = options["remove"]
        if options["check"]:
            if changed:
                self.stdout.write(diff, ending="")
                state = "still installed" if removing else ("out of date" if existed else "not installed")
                raise CommandError(f"the entry in {where} is {state}", returncode=EXIT_DIFFERS)
            self.stdout.write(f"The entry in {where} is {'absent' if removing else 'up to date'}.")
            return
        if not changed:
            self.stdout.write(f"No entry in {where}; nothing to remove." if removing else f"Unchanged: {where}.")
            return
        self.stdout.write(diff, ending="")
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was written.")
        elif removing:
            self.stdout.write(f"Removed the entry from {where}.")
        else:
            self.stdout.write(f"{'Updated' if existed else 'Installed'} the entry in {where}.")


def _running_manage_py() -> str:
    """The manage.py running this command; the entry records its path."""
    if os.path.basename(sys.argv[0]) != "manage.py":
        raise InstallError(
            f"this command was not started through manage.py (but {sys.argv[0]!r}), and the entry needs its "
            "path: run `python manage.py installcrons`, or pass --manage-py PATH"
        )
    return sys.argv[0]
