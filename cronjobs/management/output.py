"""What runcrons writes, for a person at a terminal and for cron's mail or a log file.

On a terminal, lines stay as they are. Elsewhere (cron, a pipe, a log file) the real stdout
is line-buffered, so each line lands as it is written and before the summary on stderr, and
each line starts with the time it was written, in ``TIME_ZONE``.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from cronjobs import words

if TYPE_CHECKING:
    from django.core.management.base import OutputWrapper


def stamp() -> str:
    """``2026-12-02 21:55:01 CET``: now, in the project's time zone."""
    return words.moment(timezone.now())


def prepare(stdout: OutputWrapper) -> Callable[[str], str]:
    """Line-buffer the real stdout when it is not a terminal; return how to format a line."""
    if stdout.isatty():
        return lambda line: line
    for stream in {id(s): s for s in (getattr(stdout, "_out", None), sys.stdout, sys.stderr)}.values():
        if isinstance(stream, io.TextIOWrapper) and not stream.isatty():
            stream.reconfigure(line_buffering=True)
    return lambda line: f"{stamp()} {line}"


def nothing_due(jobs: dict[str, Any], now: datetime, unsaved: dict[str, Any]) -> str:
    """``nothing due; next: shop.report at 2026-12-02 22:00:00 CET, in 4 min`` (for ``--dry-run``).

    ``unsaved``: rows of jobs a dry run saw for the first time (not stored)."""
    from cronjobs.models import Job
    from cronjobs.ops import overview

    if not jobs:
        return "nothing due: no jobs registered"
    upcoming = [
        (moment, row.code)
        for row in [*Job.objects.filter(code__in=list(jobs)), *unsaved.values()]
        for moment, _reason in [row.next_run()]
        if moment is not None
    ]
    if not upcoming:
        return "nothing due: every job is paused"
    moment, code = min(upcoming)
    return f"nothing due; next: {code} at {overview.when(moment, now, jobs[code].get_timezone())}"


class Live:
    """Write each run's line as the run ends (``run_finished``), so its time is its own.

    Inside ``with Live(write):``, every run recorded in this process, its work horse or its
    ``--workers`` processes is handed to ``write`` at once; :meth:`rest` gives back the outcomes
    of the invocation that were not (missed slots; runs that never started), and those whose
    message grew after their line was written (a hook that runs after the record, and
    raised, notes it on the run's message).
    """

    def __init__(self, write: Callable[[Any], None]) -> None:
        self._write = write
        self._pid = os.getpid()
        self._written: dict[tuple[int, str], str] = {}

    def __enter__(self) -> Live:
        from cronjobs import signals
        from cronjobs.engine import outcomes

        signals.run_finished.connect(self._finished, weak=False, dispatch_uid=self._uid)  # runs inline
        self._unlisten = outcomes.listen(lambda outcome: self._finished(None, outcome))  # in work horses
        return self

    def __exit__(self, *exc: object) -> None:
        from cronjobs import signals

        signals.run_finished.disconnect(dispatch_uid=self._uid)
        self._unlisten()

    @property
    def _uid(self) -> str:
        return f"cronjobs.management.output.Live.{id(self)}"

    def _finished(self, sender: Any, outcome: Any = None, **kwargs: Any) -> None:
        # A forked --workers process inherits the receiver: its runs are written by this one.
        if outcome is None or os.getpid() != self._pid or (outcome.run_id, outcome.status) in self._written:
            return
        if outcome.run_id is not None:
            self._written[(outcome.run_id, outcome.status)] = outcome.message
        self._write(outcome)

    def rest(self, outcomes: list[Any]) -> list[Any]:
        """The outcomes not written yet, or written with a shorter message (and marks them written).

        A run is written once per status (a handed-off run's line, then its final one), and
        again at the end if a hook noted an error on it after its line."""
        left = [
            o
            for o in outcomes
            if o.run_id is None
            or (o.run_id, o.status) not in self._written
            or self._written[(o.run_id, o.status)] != o.message
        ]
        self._written.update(((o.run_id, o.status), o.message) for o in left if o.run_id is not None)
        return left
