"""``manage.py runcrons``: run the jobs that are due. Cron calls it every minute."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import time
from typing import Any

from django.core.checks.messages import ERROR
from django.core.management import BaseCommand, CommandError
from django.db import DatabaseError, connections, router

from cronjobs import registry, text, words
from cronjobs.engine import loop, supervisor
from cronjobs.engine.invocation import Invocation, Options, Report
from cronjobs.engine.outcomes import Intent, Outcome, Preview
from cronjobs.exceptions import CronJobsError, Interrupted
from cronjobs.management import output
from cronjobs.management.arguments import non_negative_float, positive_int
from cronjobs.models import Job, Run
from cronjobs.ops import overview

EXIT_FAILED = 1
EXIT_USAGE = 2


class Command(BaseCommand):
    help = "Run the cron jobs that are due (cron calls this every minute)."
    requires_system_checks: list[str] = []  # checked in handle(), to exit 2 on bad configuration

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("codes", nargs="*", metavar="CODE", help="Only these jobs (default: all).")
        parser.add_argument("--force", action="store_true", help="Run now even if not due (still locked, recorded).")
        parser.add_argument("--dry-run", action="store_true", help="Say what would run; change nothing.")
        parser.add_argument(
            "--workers",
            type=positive_int,
            default=1,
            metavar="N",
            help="Run due jobs, and drain tasks, in N processes (default 1).",
        )
        parser.add_argument(
            "--stop-grace",
            type=non_negative_float,
            default=None,
            metavar="SECONDS",
            help="On SIGTERM, let running work finish for this long before stopping it "
            "(default: CRONJOBS['STOP_GRACE'], 0: stop it at once, rolled back).",
        )
        loop.add_arguments(parser)  # --loop, --tasks-only, --queue

    def handle(
        self, *args: Any, codes: list[str], force: bool, dry_run: bool, workers: int, verbosity: int, **options: Any
    ) -> None:
        started = time.monotonic()
        # What Django built at start-up lives until exit: keep the collector from walking it
        # over and over while this short-lived process registers and checks its jobs.
        gc.freeze()
        self._line = output.prepare(self.stdout)
        self._verbosity = verbosity
        broken = self._check()
        _configure_logging(verbosity)
        wanted = Options(codes, force, dry_run, workers, options["loop"], options["tasks_only"], options["queues"])
        _refuse_conflicts(wanted)
        _ensure_database()
        registry.refresh()  # the stored schedules as they are now, at each invocation
        jobs = self._jobs = _select(registry.get_jobs(), tuple(codes))
        supervisor.set_stop_grace(options.get("stop_grace"))
        invocation = Invocation(
            jobs,
            wanted,
            started=started,
            on_first_seen=self._first_seen,
            on_pass=self._write_pass,
            reload=lambda: self._reload(codes),
        )
        self._live = output.Live(self._report)
        try:
            with self._live:
                report = invocation.run()
        except Interrupted as exc:
            raise CommandError(f"stopped: {exc}", returncode=128 + exc.signum) from None
        except KeyboardInterrupt:
            raise CommandError("stopped: interrupted", returncode=128 + signal.SIGINT) from None
        except DatabaseError as exc:
            hint = " (have you run `manage.py migrate`?)" if "cronjobs_" in str(exc) else ""
            raise CommandError(f"database error: {_one_line(exc)}{hint}", returncode=EXIT_FAILED) from None
        except CronJobsError as exc:
            raise CommandError(str(exc), returncode=EXIT_FAILED) from None
        self._write(report, jobs)
        self._exit(report, broken)

    def _reload(self, codes: list[str]) -> dict[str, Any]:
        """``--loop``, at each pass: the stored schedules as they are now (added, changed, deleted)."""
        registry.refresh()
        self._jobs = {code: job for code, job in registry.get_jobs().items() if not codes or code in codes}
        return self._jobs

    def _write(self, report: Report, jobs: dict[str, Any]) -> None:
        """The report's lines (the runs not written as they ended, the tasks, a dry run's plan)."""
        if report.stopped_idle is not None:
            if self._verbosity >= 1:
                self.stdout.write(self._line(f"stopped by {signal.Signals(report.stopped_idle).name}"))
            return
        if report.previews is not None:
            self._first_seen(report, dry_run=True)
            for preview in report.previews:
                self._preview(preview)
            if not report.previews and self._verbosity >= 1:
                self.stdout.write(self._line(output.nothing_due(jobs, report.now, report.first_seen)))
            return
        self._write_pass(report.outcomes, report.drained)

    def _write_pass(self, outcomes: list[Outcome], drained: Any) -> None:
        for outcome in self._live.rest(outcomes):  # the others were written as each run ended
            self._report(outcome)
        self._report_tasks(drained)

    def _exit(self, report: Report, broken: list[Any]) -> None:
        """Exit 2 when cron modules could not be imported, 1 when a run did not succeed."""
        outcomes = report.outcomes
        failed = [o for o in outcomes if o.failed]
        if broken:
            also = f"; {len(failed)} run(s) did not succeed: {', '.join(sorted({o.code for o in failed}))}"
            raise CommandError(
                f"{len(broken)} cron module(s) could not be imported, their jobs did not run"
                + (also if failed else ""),
                returncode=EXIT_USAGE,
            )
        if failed:
            # A lock backend that could not be reached is named, not only the jobs it stopped.
            reasons = sorted({o.lock_error for o in failed if o.lock_error})
            raise CommandError(
                f"{len(failed)} of {sum(o.status != Run.Status.MISSED for o in outcomes)} run(s) did not succeed: "
                + ", ".join(sorted({o.code for o in failed}))
                + "".join(f"; {_one_line(reason)}" for reason in reasons),
                returncode=EXIT_FAILED,
            )

    def _check(self) -> list[Any]:
        """cronjobs' own system checks (the whole project's are for ``manage.py check`` at deploy).

        runcrons starts every minute on every host: the URLconf, the admin and other apps'
        checks would cost it tens of milliseconds each time and tell it nothing about its jobs.
        """
        from django.core import checks

        from cronjobs.checks import TAG
        from cronjobs.checks.modules import BROKEN_MODULE

        messages = checks.run_checks(tags=[TAG], include_deployment_checks=False)
        errors = [m for m in messages if m.level >= ERROR and not m.is_silenced()]
        # A broken cron.py stops its own app's jobs only: the others run, then runcrons exits 2.
        broken = [m for m in errors if m.id == BROKEN_MODULE]
        errors = [m for m in errors if m.id != BROKEN_MODULE]
        if errors:
            raise CommandError(f"configuration errors, nothing was run:\n{_lines(errors)}", returncode=EXIT_USAGE)
        if broken:
            self.stderr.write(f"{_lines(broken)}\nThe other apps' jobs run.")
        return broken

    def _first_seen(self, report: Report, *, dry_run: bool = False) -> None:
        """A job's first sight starts its schedule from now: say so once, with its first run."""
        if self._verbosity < 1:
            return
        for code, state in report.first_seen.items():
            job = self._jobs[code]
            when = overview.when(state.next_slot, report.now, job.get_timezone())
            verb = "would be registered" if dry_run else "registered"
            self.stdout.write(self._line(f"{code}: {verb} ({overview.describe(job)}); first run {when}"))

    def _report_tasks(self, drained: Any) -> None:
        line = None if drained is None or self._verbosity < 1 else drained.summary()
        if line:
            self.stdout.write(self._line(line))

    def _preview(self, preview: Preview) -> None:
        slot = words.moment(preview.slot)
        what = "run" if preview.intent is Intent.RUN else "record as missed"
        extra = f" (attempt {preview.attempt})" if preview.attempt > 1 else ""
        extra += f" ({preview.reason})" if preview.reason in ("forced", "requested") else ""
        self.stdout.write(self._line(f"{preview.code}: would {what} {slot}{extra}"))

    def _report(self, outcome: Outcome) -> None:
        verbosity = self._verbosity
        if verbosity < 2 and outcome.status in ("skipped", "missed"):
            return
        if verbosity < 1 and not outcome.failed:
            return
        line = f"{outcome.code}: {words.status(outcome.status)} in {outcome.duration:.2f}s"
        if outcome.forced:
            line += " (forced)"
        if outcome.attempt > 1:
            line += f" (attempt {outcome.attempt})"
        if outcome.message:
            line += f": {_one_line(outcome.message)}"
        line = self._line(line)  # stamped now: as each run ends (see output.Live)
        self.stdout.write(self.style.ERROR(line) if outcome.failed else line)
        self.stdout.flush()


def _refuse_conflicts(options: Options) -> None:
    if (options.tasks_only or options.looping) and (options.force or options.dry_run):
        raise CommandError(
            "--loop and --tasks-only cannot be combined with --force or --dry-run", returncode=EXIT_USAGE
        )
    if options.tasks_only and options.codes:
        raise CommandError("--tasks-only runs no jobs: leave out the job codes", returncode=EXIT_USAGE)


def _select(jobs: dict[str, Any], codes: tuple[str, ...]) -> dict[str, Any]:
    if not codes:
        return jobs
    problems = []
    for code in dict.fromkeys(codes):
        try:
            overview.find_code(code, jobs)
        except overview.UnknownJob as exc:  # the same words as `manage.py cronjobs`
            problems.append(str(exc))
    if problems:
        raise CommandError("; ".join(problems), returncode=EXIT_USAGE)
    return {code: jobs[code] for code in dict.fromkeys(codes)}


def _ensure_database() -> None:
    """Connect now, so that an unreachable database is one clear line (exit 1), not a traceback."""
    alias = router.db_for_write(Job)
    wrapper = connections[alias]
    try:
        wrapper.ensure_connection()
    except DatabaseError as exc:
        config = wrapper.settings_dict
        where = str(config.get("NAME")) if wrapper.vendor == "sqlite" else str(config.get("HOST") or "localhost")
        if config.get("PORT"):
            where += f":{config['PORT']}"
        raise CommandError(
            f"cannot reach database {alias!r} ({wrapper.vendor} at {where}): {_one_line(exc)}", returncode=EXIT_FAILED
        ) from None


def _lines(messages: list[Any]) -> str:
    return "\n".join(f"{m.id}: {m.msg}" + (f"\n\tHINT: {m.hint}" if m.hint else "") for m in messages)


def _one_line(value: object) -> str:
    """``value`` on one line for a person: whitespace collapsed, control characters escaped (see
    :func:`cronjobs.text.printable`), at most 300 characters."""
    line = text.printable(" ".join(str(value).split()))
    return line if len(line) <= 300 else line[:297] + "..."


def _configure_logging(verbosity: int) -> None:
    if verbosity < 2:
        return
    logger = logging.getLogger("cronjobs")
    if not any(getattr(h, "_cronjobs", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._cronjobs = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbosity >= 3 else logging.INFO)


class _PrintableFormatter(logging.Formatter):
    """Log lines with the control characters of a job's text escaped (a message, an error)."""

    def format(self, record: logging.LogRecord) -> str:
        return text.printable(super().format(record), lines=True)
