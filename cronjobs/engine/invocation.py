"""One ``runcrons`` invocation, from its options to its :class:`Report`.

The command (:mod:`cronjobs.management.commands.runcrons`) checks the configuration, builds an
:class:`Invocation` and turns its report into lines and an exit status. In between, the
invocation: runs the due jobs (or says what it would, ``--dry-run``), stays to the end of the
minute for intervals under a minute, drains one-off tasks, follows the runs handed to a task
backend, or keeps going with ``--loop``. Everything runs under one supervisor session (its
work horse is shared by all of it) with SIGTERM and SIGINT as flags
(:mod:`cronjobs.engine.stops`).
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from cronjobs.engine import clock, following, loop, processes, stops, supervisor, wakeups
from cronjobs.engine.outcomes import Outcome, Preview
from cronjobs.engine.runner import Runner
from cronjobs.exceptions import Interrupted
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Job


@dataclasses.dataclass
class Options:
    codes: list[str] = dataclasses.field(default_factory=list)
    force: bool = False
    dry_run: bool = False
    workers: int = 1
    looping: bool = False
    tasks_only: bool = False
    queues: list[str] | None = None


@dataclasses.dataclass
class Report:
    """What an invocation did."""

    now: datetime
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    previews: list[Preview] | None = None
    """``--dry-run``: what it would have done."""
    drained: Any = None
    """What draining tasks did (a :class:`~cronjobs.engine.loop.DrainReport`), if it drained."""
    first_seen: dict[str, Job] = dataclasses.field(default_factory=dict)
    """Jobs seen for the first time: their schedules start now."""
    stopped_idle: int | None = None
    """``--loop`` stopped by this signal while nothing ran (exit 0)."""


class Invocation:
    """``on_first_seen(report)`` is called once the jobs seen for the first time are known (before
    a long stay); ``on_pass(outcomes, drained)`` after each pass of ``--loop``."""

    def __init__(
        self,
        jobs: dict[str, type[BaseCronJob]],
        options: Options,
        *,
        started: float,
        on_first_seen: Callable[[Report], None] = lambda report: None,
        on_pass: Callable[[list[Outcome], Any], None] = lambda outcomes, drained: None,
        reload: Callable[[], dict[str, type[BaseCronJob]]] | None = None,
    ) -> None:
        self.jobs = jobs
        self.reload = reload
        """``--loop``: the jobs again before each pass (the stored schedules change without a deploy)."""
        self.options = options
        self.started = started
        self.on_first_seen = on_first_seen
        self.on_pass = on_pass
        self.runner = Runner(jobs, now=clock.now(), force=options.force)
        self.report = Report(self.runner.now)

    def run(self) -> Report:
        """Do what the options say; raises :class:`~cronjobs.exceptions.Interrupted` (or
        ``KeyboardInterrupt``) when stopped while work ran."""
        options, report = self.options, self.report
        with stops.handling_signals(), supervisor.session():
            if options.dry_run:
                report.previews = self.runner.preview()
                report.first_seen = self.runner.first_seen
                return report
            if options.looping:
                self._loop()
                return report
            if not options.tasks_only:
                report.outcomes = self.runner.run(workers=options.workers)
            report.first_seen = self.runner.first_seen
            self.on_first_seen(report)
            if self._stays():
                report.outcomes += wakeups.stay_in_minute(list(self.jobs), self.runner.now, self._pass, idle=self._idle)
            if not options.codes:
                self._drain()
                stops.check()
            if not options.tasks_only:  # handed-off runs whose task has finished: their final outcome
                followed = following.follow()
                settled = {o.run_id for o in followed}
                report.outcomes = [o for o in report.outcomes if o.run_id not in settled] + followed
        return report

    def _stays(self) -> bool:
        """Intervals under a minute: a cron-started invocation runs their slots to the end of its
        minute (in real time: a test's frozen clock runs one pass, as for any job)."""
        options = self.options
        if options.tasks_only or options.force or clock.frozen():
            return False
        return wakeups.sub_minute(self.jobs.values())

    def _pass(self, now: datetime) -> list[Outcome]:
        return Runner(self.jobs, now=now).run(workers=self.options.workers)

    def _idle(self, wake: datetime) -> None:
        """While it waits for a sub-minute slot: drain tasks until then."""
        if not self.options.codes:
            self._drain(by=time.monotonic() + (wake - timezone.now()).total_seconds())

    def _drain(self, by: float | None = None) -> None:
        options = self.options
        more = loop.drain_tasks(started=self.started, workers=options.workers, queues=options.queues, by=by)
        if more is not None:
            if self.report.drained is None:
                self.report.drained = more
            else:
                self.report.drained.add(more)

    def _loop(self) -> None:
        options = self.options

        def run_jobs(now: Any) -> list[Outcome]:
            if self.reload is not None:
                self.jobs = self.reload()
            return Runner(self.jobs, now=now).run(workers=options.workers)

        try:
            loop.run_loop(
                run_jobs=None if options.tasks_only else run_jobs,
                workers=options.workers,
                queues=options.queues,
                report=self.on_pass,
                next_due=lambda: wakeups.next_due(list(self.jobs)),
            )
        except (Interrupted, KeyboardInterrupt):
            if not (loop.stopped_while_idle or processes.stopped_idle):
                raise  # something was running (and is recorded as stopped): exit 128+N
        # Stopped while waiting for work: how a container or service manager stops it.
        self.report.stopped_idle = stops.requested() or signal.SIGTERM
