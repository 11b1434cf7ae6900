"""What the real runner would do with some jobs over a stretch of time (``cronjobs simulate``).

Nothing here decides a slot: the real :class:`~cronjobs.engine.runner.Runner` does, pass by
pass, against a throwaway SQLite database (a temporary file, every cronjobs table created
fresh) with Django's clock replaced by a simulated one. Each job runs as a copy of its class
whose ``run()`` does nothing, so its first sight, watermark, claims, catch-up, lock and record
all go through the code that runcrons uses; only the job's own work, its notices (signals,
pings, mail) and a task-backend hand-off are left out.

The simulated cron starts ``runcrons`` at the start of every minute, except during outages;
an invocation with a job whose interval is under a minute stays to the end of its minute
(:mod:`cronjobs.engine.wakeups`). Minutes before the one in which the next slot or retry falls
are skipped (such an invocation reads one row per job and changes nothing); the minute it falls
in is not, since a staying invocation runs it there (a 7 s interval's slot at 12:01:03 runs at
12:01:03, not with the slots after it at 12:02). The jobs are first seen one second before
``start``, by an invocation that stays as one of that minute would, so a slot at ``start`` is
the first one that can run. tests/ops/test_simulate_agrees.py holds it to the real runner.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db import connections, router
from django.utils import timezone as django_timezone

from cronjobs import signals
from cronjobs.engine import wakeups
from cronjobs.engine.runner import Runner
from cronjobs.exceptions import CronJobsError
from cronjobs.jobs import BaseCronJob
from cronjobs.models import Run

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
#: A simulation settles at most this many slots (a year of a once-a-minute job is 525,600).
MAX_SLOTS = 10_000


class SimulationError(CronJobsError):
    """A simulation that cannot be run as asked (a range too long, a job with no slots)."""


@dataclasses.dataclass(frozen=True)
class Step:
    """What the runner did with one slot."""

    code: str
    slot: datetime
    """The slot (UTC)."""
    status: str
    """``"run"``, ``"caught up"`` (run a minute or more after its slot), ``"missed"``, ``"skipped"``,
    or another :class:`Run.Status <cronjobs.models.runs.Run.Status>` value."""
    at: datetime
    """When the runner settled it (UTC)."""
    zone: str
    """The job's time zone."""
    note: str = ""
    """``"first copy of the hour"`` / ``"second copy of the hour"`` in a repeated hour."""
    message: str = ""
    """The record's message (a missed slot's says when older slots were missed too)."""


@dataclasses.dataclass(frozen=True)
class Change:
    """A change of a zone's UTC offset (daylight saving time, or a change of rules)."""

    zone: str
    at: datetime
    """The moment of the change (UTC)."""
    before: datetime
    """The wall clock just before the change (local, aware)."""
    after: datetime
    """The wall clock at the change (local, aware)."""

    @property
    def words(self) -> str:
        direction = "forward" if self.after.utcoffset() > self.before.utcoffset() else "back"  # type: ignore[operator]
        shown = (self.before + timedelta(seconds=1)).replace(tzinfo=None)  # 02:59:59 -> 03:00
        return (
            f"{self.zone}: clocks go {direction} from {shown:%H:%M} {self.before:%Z} "
            f"to {self.after:%H:%M} {self.after:%Z}"
        )


@dataclasses.dataclass(frozen=True)
class Simulation:
    """The result: every slot settled, in order, and the offset changes of the jobs' zones."""

    start: datetime
    end: datetime
    outages: list[tuple[datetime, datetime]]
    steps: list[Step]
    changes: list[Change]


def simulate(
    jobs: dict[str, type[BaseCronJob]],
    start: datetime,
    end: datetime,
    outages: Sequence[tuple[datetime, datetime]] = (),
    *,
    delay: Callable[[datetime], timedelta] = lambda minute: timedelta(0),
) -> Simulation:
    """Run the real runner over ``[start, end]`` for ``jobs``; runcrons is not started in ``outages``.

    ``delay(minute)`` is how long after its minute an invocation reads the clock (under a
    minute; none by default).
    """
    if end <= start:
        raise SimulationError("the end of the simulation must come after its start")
    for code, job in jobs.items():
        _check_size(code, job, start, end)
    outages = sorted(outages)
    copies = {code: _simulated(job) for code, job in jobs.items()}
    clock = _Clock(start - timedelta(seconds=1))
    steps: list[Step] = []
    staying = wakeups.sub_minute(copies.values())
    with _throwaway_database(), _clock_replaced(clock), _signals_muted():

        def run_pass(now: datetime) -> list:
            return _steps(jobs, Runner(copies, now=now, supervised=False).run(), now)

        def stay(now: datetime) -> list[Step]:
            """What a cron-started runcrons does after its first pass: stay for sub-minute slots."""
            return wakeups.stay_in_minute(copies, now, run_pass, idle=clock.set, clock=clock) if staying else []

        first_sight = clock.now
        Runner(copies, now=first_sight, supervised=False).run()
        if not _in_outage(first_sight, outages):  # as the invocation of its minute would
            steps += stay(first_sight)
        minute = _invoked(start.replace(second=0, microsecond=0), outages)
        if minute < start:
            minute += MINUTE
        while minute <= end:
            now = clock.now = minute + delay(minute)
            steps += run_pass(now)
            steps += stay(now)
            due = wakeups.next_due(copies)
            if due is None:
                break
            # The invocation of the minute the next due moment falls in: it runs the slot then
            # if it stays in its minute (intervals under a minute), else it finds nothing due and
            # the next minute's invocation runs it. Minutes before that one change nothing.
            minute = _invoked(max(minute + MINUTE, due.replace(second=0, microsecond=0)), outages)
    steps = sorted((step for step in steps if step.slot <= end), key=lambda step: (step.slot, step.code))
    zones = sorted({job.get_timezone() for job in jobs.values()})
    return Simulation(start, end, list(outages), steps, [c for zone in zones for c in changes(zone, start, end)])


def changes(zone: str, start: datetime, end: datetime) -> list[Change]:
    """Every change of ``zone``'s UTC offset in ``(start, end]``, to the second."""
    tz = ZoneInfo(zone)
    found = []
    low = int(start.timestamp())
    last = int(end.timestamp())
    while low < last:
        high = min(low + 3600, last)
        if _offset(tz, low) != _offset(tz, high):
            a, b = low, high
            while b - a > 1:
                middle = (a + b) // 2
                a, b = (middle, b) if _offset(tz, middle) == _offset(tz, a) else (a, middle)
            at = datetime.fromtimestamp(b, UTC)
            found.append(Change(zone, at, datetime.fromtimestamp(b - 1, tz), at.astimezone(tz)))
        low = high
    return found


# -- the parts ---------------------------------------------------------------------------


def _offset(tz: ZoneInfo, timestamp: int) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, tz).utcoffset()


def _check_size(code: str, job: type[BaseCronJob], start: datetime, end: datetime) -> None:
    schedule = job.get_schedule()
    slot, count = schedule.next_after(start - timedelta(seconds=1)), 0
    while slot <= end:
        count += 1
        if count > MAX_SLOTS:
            raise SimulationError(
                f"{code} has more than {MAX_SLOTS} slots between {start:%Y-%m-%d %H:%M} and "
                f"{end:%Y-%m-%d %H:%M} UTC; simulate a shorter stretch"
            )
        slot = schedule.next_after(slot)


def _simulated(job: type[BaseCronJob]) -> type[BaseCronJob]:
    """A copy of ``job`` that does nothing when run, locked in the throwaway database.

    The project's own code is not called: not ``run()``, nor the hooks, nor ``should_run()``
    (the declared conditions, ``environments`` and ``between``, still apply); jitter does not
    make the simulation wait.
    """

    def run(self: BaseCronJob) -> None:
        return None

    attributes: dict[str, Any] = {
        "__module__": job.__module__,
        "code": job.get_code(),
        "run": run,
        "lock": "database",
        "database": _ALIAS,
        "task_backend": None,
        "ping_url": None,
        "timeout": None,
        "jitter": None,
        "should_run": BaseCronJob.should_run,
        "on_start": BaseCronJob.on_start,
        "on_success": BaseCronJob.on_success,
        "on_failure": BaseCronJob.on_failure,
        "on_finish": BaseCronJob.on_finish,
    }
    return type(job.__name__, (job,), attributes)


def _steps(jobs: dict[str, type[BaseCronJob]], outcomes: list, now: datetime) -> list[Step]:
    steps = []
    for outcome in outcomes:
        zone = jobs[outcome.code].get_timezone()
        if outcome.status == Run.Status.SUCCEEDED:
            status = "caught up" if now - outcome.slot >= MINUTE else "run"
        else:
            status = str(outcome.status)
        steps.append(Step(outcome.code, outcome.slot, status, now, zone, _copy(outcome.slot, zone), outcome.message))
    return steps


def _copy(slot: datetime, zone: str) -> str:
    """Which copy of a repeated hour ``slot`` falls in, if it does."""
    local = slot.astimezone(ZoneInfo(zone))
    first, second = local.replace(fold=0).utcoffset(), local.replace(fold=1).utcoffset()
    if first is None or second is None or first <= second:
        return ""
    return "second copy of the hour" if local.fold else "first copy of the hour"


def _minute_up(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + MINUTE


def _in_outage(moment: datetime, outages: Sequence[tuple[datetime, datetime]]) -> bool:
    return any(begin <= moment < end for begin, end in outages)


def _invoked(minute: datetime, outages: Sequence[tuple[datetime, datetime]]) -> datetime:
    """The first minute from ``minute`` on at which cron starts runcrons (none in an outage)."""
    for begin, end in outages:
        if begin <= minute < end:
            minute = _minute_up(end)
    return minute


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


_ALIAS = "cronjobs_simulation"


class _Router:
    """Every model to the throwaway database, for the length of the simulation."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return _ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return _ALIAS

    def allow_relation(self, *args: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, *args: Any, **hints: Any) -> bool:
        return db == _ALIAS


@contextlib.contextmanager
def _throwaway_database() -> Iterator[None]:
    """A fresh SQLite file with cronjobs' tables, where every query goes meanwhile."""
    if _ALIAS in connections.settings:
        raise SimulationError("a simulation is already running in this process")
    with tempfile.TemporaryDirectory(prefix="cronjobs-simulation-") as directory:
        config = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(Path(directory) / f"{uuid.uuid4().hex}.sqlite3"),
            "OPTIONS": {"init_command": "PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY"},
        }
        connections.settings[_ALIAS] = connections.configure_settings({"default": {}, _ALIAS: config})[_ALIAS]
        had_routers = "routers" in router.__dict__
        saved = router.__dict__.get("routers")
        router.__dict__["routers"] = [_Router()]
        try:
            with connections[_ALIAS].schema_editor() as editor:
                for model in apps.get_app_config("cronjobs").get_models():
                    editor.create_model(model)
            yield
        finally:
            if had_routers:
                router.__dict__["routers"] = saved
            else:
                router.__dict__.pop("routers", None)
            connections[_ALIAS].close()
            del connections[_ALIAS]
            del connections.settings[_ALIAS]


@contextlib.contextmanager
def _clock_replaced(clock: _Clock) -> Iterator[None]:
    """Django's ``timezone.now()`` reads the simulated clock (the runner's records use it)."""
    real = django_timezone.now
    django_timezone.now = clock
    try:
        yield
    finally:
        django_timezone.now = real


@contextlib.contextmanager
def _signals_muted() -> Iterator[None]:
    """No receiver of ``run_started`` / ``run_finished`` hears simulated runs (no pings, no mail)."""
    saved = [(signal, signal.receivers) for signal in (signals.run_started, signals.run_finished)]
    for signal, _ in saved:
        signal.receivers = []
        signal.sender_receivers_cache.clear()
    try:
        yield
    finally:
        for signal, receivers in saved:
            signal.receivers = receivers
            signal.sender_receivers_cache.clear()
