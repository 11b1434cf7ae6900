"""django-celery-beat's periodic tasks imported as stored schedules (``cronjobs import-celery-beat``).

Unlike django-cron's classes and django-crontab's list, which are read as they stand at each
start, django-celery-beat keeps its schedules in its own tables: they are copied, once or as
often as wanted, into :class:`~cronjobs.models.stored.StoredSchedule` rows, each recorded as an
Action by ``import-celery-beat``. What is read, and what it becomes (django-celery-beat 2.9):

- ``PeriodicTask.crontab`` → a cron expression, each field as Celery reads it (names, wrapping
  ranges such as ``fri-mon`` and steps expanded by Celery's own parser, so the expression means
  what Celery meant; Sunday is 0 in both) and the crontab's zone. Celery runs a crontab on the
  days that match *both* its day of month and its day of week; cron on days matching *either*:
  a crontab restricting both is not imported.
- ``PeriodicTask.interval`` → ``interval`` (``every`` ``period``, as a duration).
- ``solar`` and ``clocked`` schedules: no equivalent, not imported.
- ``task``, a Celery task name → the Django Tasks task at that dotted path, when there is one;
  otherwise not imported (port the function to ``@task`` at that path, and import again).
- ``args`` / ``kwargs`` (JSON text) → the row's JSON arguments; ``enabled`` → ``enabled``;
  ``description`` → ``description``.
- ``one_off``, ``expires`` and a ``start_time`` still to come change *when* a task runs, and a
  stored schedule has no such thing: such a task is not imported. A ``start_time`` passed
  means nothing here (a new schedule starts when it is first seen).
- ``queue`` (unless it is the task's own queue), ``priority``, ``exchange``, ``routing_key``,
  ``headers`` and ``expire_seconds`` are options of the Celery message: the task is imported,
  and each is reported as left behind.
- ``last_run_at`` and ``total_run_count`` are beat's history, not imported.

Names: the periodic task's name slugified (``Importing contacts`` → ``importing-contacts``);
where several names slugify alike, each gets ``-`` and 8 hex digits of a digest of its full
name. A row of that name that the import made, and that nobody changed since (the last of its
recorded additions, changes, pauses and resumes is the import's), is updated; any other is left
as it is, and reported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.db import router, transaction
from django.utils.module_loading import import_string
from django.utils.text import slugify

from cronjobs import stored
from cronjobs.decorator import is_task
from cronjobs.models import Action, StoredSchedule

APP = "django_celery_beat"
ACTOR = "import-celery-beat"
#: The kinds of action after which a row is no longer the import's to update, unless by it.
TOUCHES = (Action.Kind.ADD, Action.Kind.CHANGE, Action.Kind.PAUSE, Action.Kind.RESUME)
#: The fields of a stored schedule the import sets.
FIELDS = ("task", "command", "args", "kwargs", "schedule", "interval", "timezone", "description", "enabled")
NAME_LENGTH = StoredSchedule._meta.get_field("name").max_length or 100


class Unmappable(ValueError):
    """What makes a periodic task impossible to import."""


@dataclasses.dataclass
class Outcome:
    """What became of one periodic task."""

    periodic_task: str
    """Its name in django-celery-beat."""
    code: str | None = None
    """The code of its stored schedule (``db.<name>``), when it has one."""
    status: str = "skipped"
    """``created``, ``changed``, ``unchanged``, or ``skipped`` (not imported)."""
    detail: str = ""
    """What was written, or why nothing was."""
    left_behind: list[str] = dataclasses.field(default_factory=list)
    """What it had that could not be mapped (when imported all the same)."""

    @property
    def complete(self) -> bool:
        return self.status != "skipped" and not self.left_behind


@dataclasses.dataclass
class Report:
    outcomes: list[Outcome]
    database: str
    dry_run: bool

    @property
    def complete(self) -> bool:
        """Whether every periodic task was mapped, all of it."""
        return all(outcome.complete for outcome in self.outcomes)


def installed() -> bool:
    return apps.is_installed(APP)


# -- the schedules ---------------------------------------------------------------------------------

#: Celery's crontab fields (their attribute names), their cron ranges, in cron's order.
CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day_of_month", 1, 31),
    ("month_of_year", 1, 12),
    ("day_of_week", 0, 6),
)


def cron_expression(minute: str, hour: str, day_of_week: str, day_of_month: str, month_of_year: str) -> str:
    """The cron expression that fires when Celery's ``crontab(...)`` of these fields does.

    Each field is expanded by Celery's own parser (names, ``fri-mon``, steps), then written back in
    cron's syntax; raises :class:`Unmappable` when Celery cannot read it, or when both day fields
    are restricted (Celery wants both to match, cron either)."""
    schedules: Any = importlib.import_module("celery.schedules")
    fields = {"minute": minute, "hour": hour, "day_of_week": day_of_week}
    fields |= {"day_of_month": day_of_month, "month_of_year": month_of_year}
    try:
        parsed = schedules.crontab(**fields)
    except (ValueError, schedules.ParseException) as exc:
        raise Unmappable(f"Celery cannot read its crontab {_fields(fields)}: {exc}") from None
    written = [_field(set(getattr(parsed, name)), low, high) for name, low, high in CRON_FIELDS]
    if written[2] != "*" and written[4] != "*":
        raise Unmappable(
            f"its crontab {_fields(fields)} restricts both the day of month and the day of week: Celery "
            "runs it on days that match both, cron on days that match either; write it as a job in "
            "cron.py with should_run() for the second condition"
        )
    return " ".join(written)


def _fields(fields: dict[str, str]) -> str:
    return " ".join(str(fields[name]).replace(" ", "") or "*" for name, _low, _high in CRON_FIELDS)


def _field(values: set[int], low: int, high: int) -> str:
    """``values`` in cron's syntax: ``*``, ``*/15``, or ranges and numbers (``1-5,7``)."""
    ordered = sorted(values)
    if ordered == list(range(low, high + 1)):
        return "*"
    if len(ordered) > 1 and ordered[0] == low and ordered == list(range(low, high + 1, ordered[1] - low)):
        return f"*/{ordered[1] - low}"
    parts: list[str] = []
    start = 0
    for index, value in enumerate(ordered):
        if index + 1 < len(ordered) and ordered[index + 1] == value + 1:
            continue
        first = ordered[start]
        parts.append(str(first) if first == value else f"{first}-{value}" if value > first + 1 else f"{first},{value}")
        start = index + 1
    return ",".join(parts)


def interval(every: int, period: str) -> timedelta:
    """``IntervalSchedule(every, period)`` as a duration (period: days, hours, ... microseconds)."""
    try:
        return timedelta(**{period: every})
    except TypeError:
        raise Unmappable(f"its interval has an unknown period {period!r}") from None


# -- names --------------------------------------------------------------------------------------


def names(periodic_tasks: list[str]) -> dict[str, str]:
    """The stored schedule's name of each periodic task name: slugified; where several slugify alike,
    each followed by a digest of its whole name. The same name always gives the same result as
    long as no other periodic task slugifies alike."""
    slugs = {name: _slug(name, NAME_LENGTH) for name in periodic_tasks}
    counts = Counter(slugs.values())
    return {
        name: slug if counts[slug] == 1 else f"{_slug(name, NAME_LENGTH - 9)}-{_digest(name)}"
        for name, slug in slugs.items()
    }


def _slug(name: str, length: int) -> str:
    return (slugify(name)[:length].strip("-_") or "periodic-task")[:length]


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


# -- one periodic task ----------------------------------------------------------------------------


def fields(periodic_task: Any, now: datetime) -> tuple[dict[str, Any], list[str]]:
    """The stored schedule's fields for ``periodic_task``, and what it has that is left behind;
    raises :class:`Unmappable` saying why it cannot be imported."""
    values: dict[str, Any] = {"command": "", "schedule": "", "interval": None, "timezone": ""}
    if periodic_task.crontab_id is not None:
        crontab = periodic_task.crontab
        values["schedule"] = cron_expression(
            crontab.minute, crontab.hour, crontab.day_of_week, crontab.day_of_month, crontab.month_of_year
        )
        values["timezone"] = str(crontab.timezone)
    elif periodic_task.interval_id is not None:
        values["interval"] = interval(periodic_task.interval.every, periodic_task.interval.period)
    elif periodic_task.solar_id is not None:
        raise Unmappable(
            f"its solar schedule, {periodic_task.solar}, has no equivalent: write the times as a cron "
            "expression, or a job in cron.py whose should_run() computes them"
        )
    elif periodic_task.clocked_id is not None:
        raise Unmappable(
            f"its clocked schedule (once, at {periodic_task.clocked.clocked_time.isoformat()}) has no "
            "equivalent: enqueue the task once with run_after=..."
        )
    else:
        raise Unmappable("it has no schedule")
    if periodic_task.one_off:
        raise Unmappable("it is one-off (runs once), and a stored schedule repeats: enqueue the task once instead")
    if periodic_task.expires is not None:
        raise Unmappable(
            f"it expires at {periodic_task.expires.isoformat()}, and a stored schedule has no end: "
            "clear expires to import it, and delete the schedule when it is over"
        )
    if periodic_task.start_time is not None and periodic_task.start_time > now:
        raise Unmappable(
            f"it starts at {periodic_task.start_time.isoformat()}, and a stored schedule starts when it is "
            "saved: import it after that moment"
        )
    task = _task(periodic_task.task)
    values["task"] = periodic_task.task
    values["args"] = _json(periodic_task.args, list, "args", "a list")
    values["kwargs"] = _json(periodic_task.kwargs, dict, "kwargs", "an object")
    values["enabled"] = periodic_task.enabled
    values["description"] = periodic_task.description or f"Imported from django-celery-beat: {periodic_task.name}"
    return values, _left_behind(periodic_task, task)


def _task(name: str) -> Any:
    hint = (
        f"port the function to a Django Tasks task (@task) importable as {name!r}, then import again; "
        "see docs: Coming from django-celery-beat"
    )
    try:
        task = import_string(name)
    except ImportError:
        raise Unmappable(
            f"its task {name!r} is a Celery task name, and no Django Tasks task has that path: {hint}"
        ) from None
    if not is_task(task):
        raise Unmappable(f"its task {name!r} is not a Django Tasks task: {hint}")
    return task


def _json(text: str | None, kind: type, field: str, said: str) -> Any:
    try:
        value = json.loads(text) if text else kind()
    except ValueError as exc:
        raise Unmappable(f"its {field} are not JSON ({exc}): {text!r}") from None
    if not isinstance(value, kind):
        raise Unmappable(f"its {field} must be JSON {said}, not {text!r}")
    return value


def _left_behind(periodic_task: Any, task: Any) -> list[str]:
    """The Celery message's options a stored schedule has no field for."""
    found = []
    if periodic_task.queue and periodic_task.queue != getattr(task, "queue_name", None):
        found.append(
            f"queue {periodic_task.queue!r} (the task is enqueued on its own queue, "
            f"{getattr(task, 'queue_name', '?')!r}: set queue_name= in @task)"
        )
    if periodic_task.priority is not None:
        found.append(f"priority {periodic_task.priority} (set priority= in @task; Django Tasks counts -100 to 100)")
    for option in ("exchange", "routing_key"):
        if getattr(periodic_task, option):
            found.append(f"{option} {getattr(periodic_task, option)!r} (AMQP routing: no equivalent)")
    if (periodic_task.headers or "{}").strip() not in ("", "{}"):
        found.append(f"headers {periodic_task.headers} (no equivalent)")
    if periodic_task.expire_seconds is not None:
        found.append(f"expire_seconds {periodic_task.expire_seconds} (a queued task does not expire here)")
    return found


# -- the import -------------------------------------------------------------------------------------


def run(database: str, dry_run: bool, now: datetime) -> Report:
    """Import every periodic task of django-celery-beat's tables on ``database``; with ``dry_run``,
    only say what would be done. The stored schedules are written in one transaction, each
    change recorded as an Action by :data:`ACTOR`."""
    from cronjobs.ops import actions

    model = apps.get_model(APP, "PeriodicTask")
    periodic_tasks = list(
        model.objects.using(database).select_related("crontab", "interval", "solar", "clocked").order_by("name")
    )
    chosen = names([p.name for p in periodic_tasks])
    outcomes = []
    with transaction.atomic(using=router.db_for_write(StoredSchedule)):
        for periodic_task in periodic_tasks:
            outcome = Outcome(periodic_task.name)
            outcomes.append(outcome)
            name = chosen[periodic_task.name]
            try:
                values, outcome.left_behind = fields(periodic_task, now)
            except Unmappable as exc:
                outcome.detail = str(exc)
                continue
            row = StoredSchedule.objects.using(router.db_for_write(StoredSchedule)).filter(name=name).first()
            was = None if row is None else actions.schedule_state(row)
            if row is None:
                row = StoredSchedule(name=name)
            outcome.code = row.code
            if was is not None and all(getattr(row, field) == values[field] for field in FIELDS):
                outcome.status, outcome.detail = "unchanged", _describe(row)
                continue
            if was is not None and not _ours(row.code):
                outcome.detail = (
                    f"{row.code} exists, and was not made by this import or was changed since: left as it "
                    "is (delete it or rename it to import this task)"
                )
                outcome.left_behind = []
                continue
            for field, value in values.items():
                setattr(row, field, value)
            problems = stored.problems(row)
            if problems:
                said = "; ".join(text for texts in problems.values() for text in texts)
                outcome.detail, outcome.left_behind = f"it cannot be a stored schedule: {said}", []
                outcome.code = outcome.code if was is not None else None  # no row of that name
                continue
            outcome.status = "created" if was is None else "changed"
            outcome.detail = _describe(row)
            if not dry_run:
                actions.save_schedule(row, was, ACTOR, now)
    return Report(outcomes, database, dry_run)


def _ours(code: str) -> bool:
    """Whether the last addition, change, pause or resume recorded for ``code`` was this import's."""
    last = Action.objects.filter(job_code=code, kind__in=TOUCHES).order_by("-at", "-id").first()
    return last is not None and last.actor == ACTOR


def _describe(row: StoredSchedule) -> str:
    when = f"at {row.schedule} ({row.timezone})" if row.schedule else f"every {row.interval}"
    arguments = json.dumps(row.args) if row.args else ""
    if row.kwargs:
        arguments += (", " if arguments else "") + json.dumps(row.kwargs)
    return f"task {row.task}({arguments}), {when}" + ("" if row.enabled else ", disabled")
