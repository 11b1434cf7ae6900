"""The classes users subclass: :class:`BaseCronJob` and :class:`CommandJob`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from cronjobs.schedules import CronSchedule, IntervalSchedule, Schedule

if TYPE_CHECKING:
    from cronjobs.engine.outcomes import Outcome

CATCHUP_CHOICES = ("latest", "all", "none")
OVERLAP_CHOICES = ("skip", "allow")


class BaseCronJob:
    """A unit of scheduled work. Subclass it in ``<app>/cron.py`` and implement :meth:`run`.

    Set exactly one of ``schedule`` (a cron expression or nickname) and ``interval``.
    A subclass that only serves as a base for others sets ``abstract = True``.
    """

    schedule: ClassVar[str | None] = None
    """Five-field cron expression or nickname (``@hourly``, ``@daily``...)."""
    interval: ClassVar[timedelta | None] = None
    """Run every this long, in absolute time aligned to the epoch."""
    timezone: ClassVar[str | None] = None
    """IANA zone the cron fields are read in (default: ``settings.TIME_ZONE``)."""
    lock: ClassVar[str | None] = None
    """``"file"``, ``"database"`` or ``"cache"`` (default: ``CRONJOBS["LOCK"]``)."""
    lock_ttl: ClassVar[timedelta] = timedelta(minutes=10)
    """Lease of database and cache locks, renewed while the job runs."""
    atomic: ClassVar[bool] = True
    """Run :meth:`run` inside ``transaction.atomic()``: a failure rolls back its writes."""
    database: ClassVar[str] = "default"
    """The database alias of that transaction. When it holds cronjobs' tables too, the run's
    success commits with the job's writes (fenced: each slot's work commits once)."""
    timeout: ClassVar[timedelta | None] = None
    """Stop the job and record it as timed out past this."""
    retries: ClassVar[int] = 0
    """Further attempts after a failure."""
    retry_delay: ClassVar[timedelta] = timedelta(minutes=1)
    """How long after a failure the next attempt becomes due."""
    retry_backoff: ClassVar[float | None] = None
    """Multiply the delay by this for each further attempt (e.g. ``2``: 1 min, 2 min, 4 min...)."""
    retry_max_delay: ClassVar[timedelta | None] = None
    """With ``retry_backoff``: no retry waits longer than this."""
    retry_jitter: ClassVar[bool] = True
    """With ``retry_backoff``: scale each delay by a stable factor in [0.5, 1] (see cronjobs.engine.retrying)."""
    retry_on: ClassVar[tuple[type[BaseException], ...] | None] = None
    """Retry only failures raising one of these (a timeout raises ``cronjobs.exceptions.JobTimeout``)."""
    catchup: ClassVar[str] = "latest"
    """Missed slots: ``"latest"`` runs the newest once, ``"all"`` each, ``"none"`` none."""
    overlap: ClassVar[str] = "skip"
    """A run still going when the next slot comes: ``"skip"`` it or ``"allow"`` both."""
    task_backend: ClassVar[str | None] = None
    """Hand the work to this Django Tasks backend (a ``TASKS`` alias) instead of running it here."""
    task_queue: ClassVar[str | None] = None
    """The queue of the handed-off task (default: the backend's default queue)."""
    ping_url: ClassVar[str | None] = None
    """Health-check URL, healthchecks.io style: ``<url>/start``, then ``<url>`` or ``<url>/fail``."""
    monitors: ClassVar[dict[str, Any] | bool | None] = None
    """Per-job monitor options over ``CRONJOBS["MONITORS"]`` (name -> options, or False to leave one
    out); ``False`` leaves every monitor out. See :mod:`cronjobs.monitors`."""
    code: ClassVar[str | None] = None
    """Stable identity, stored with every run (default ``"<app_label>.<ClassName>"``)."""
    abstract: ClassVar[bool] = False
    """True on a base class that is not a job itself (not inherited)."""
    environments: ClassVar[tuple[str, ...] | list[str] | None] = None
    """Run only where ``CRONJOBS["ENVIRONMENT"]`` is one of these; other slots are recorded as skipped."""
    between: ClassVar[tuple[str, str] | None] = None
    """Run only for slots inside this daily window, ``("08:00", "18:00")``, in the job's zone."""
    unless_between: ClassVar[tuple[str, str] | None] = None
    """Skip the slots inside this daily window, ``("02:00", "04:00")``, in the job's zone."""
    jitter: ClassVar[timedelta | None] = None
    """Start each slot a stable pseudo-random offset (derived from code and slot) up to this late."""
    run_in_maintenance: ClassVar[bool] = False
    """Go on running while maintenance mode is on (``manage.py cronjobs pause --all``)."""

    #: Set by the runner on the instance before :meth:`run` is called.
    slot: datetime
    attempt: int
    forced: bool

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "abstract" not in cls.__dict__:
            cls.abstract = False

    def run(self) -> str | None:
        """Do the work. The returned string is stored as the run's message. May be ``async def``
        (see :mod:`cronjobs.engine.asyncjobs` for the ORM rules)."""
        raise NotImplementedError(f"{type(self).__name__} must implement run()")

    def should_run(self, slot: datetime) -> bool:
        """Whether to run ``slot``; False records it as skipped (not called for forced runs)."""
        return True

    # Hooks: called outside the job's transaction; an exception in one is logged and noted on
    # the run's message, never changing its status (see cronjobs.engine.hooks).

    def on_start(self) -> None:
        """Called before :meth:`run`, outside its transaction."""

    def on_success(self, result: str | None) -> None:
        """Called after a successful run has been recorded, with what :meth:`run` returned."""

    def on_failure(self, error: BaseException) -> None:
        """Called after a failed or timed-out run has been recorded, with the exception."""

    def on_finish(self, outcome: Outcome) -> None:
        """Called last, after :meth:`on_success` or :meth:`on_failure`, with the recorded outcome."""

    @classmethod
    def get_code(cls) -> str:
        """The job's stable identity."""
        if cls.code:
            return cls.code
        cached = cls.__dict__.get("_cronjobs_code")
        if cached is None:
            from django.apps import apps

            app = apps.get_containing_app_config(cls.__module__)
            cached = f"{app.label if app else cls.__module__}.{cls.__name__}"
            cls._cronjobs_code = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def get_schedule(cls) -> Schedule:
        """The job's schedule; raises :class:`~cronjobs.exceptions.ScheduleError` when invalid."""
        cached = cls.__dict__.get("_cronjobs_schedule")
        if cached is not None and cached[0] == (cls.schedule, cls.interval, cls.get_timezone()):
            return cached[1]
        schedule = _build_schedule(cls)
        cls._cronjobs_schedule = ((cls.schedule, cls.interval, cls.get_timezone()), schedule)  # type: ignore[attr-defined]
        return schedule

    @classmethod
    def get_timezone(cls) -> str:
        from cronjobs import conf

        return cls.timezone or conf.default_timezone()

    @classmethod
    def get_lock_name(cls) -> str:
        from cronjobs import conf

        return cls.lock or conf.get("LOCK")


def _build_schedule(cls: type[BaseCronJob]) -> Schedule:
    from cronjobs.exceptions import ScheduleError

    if cls.schedule is not None and cls.interval is not None:
        raise ScheduleError("set either schedule or interval, not both")
    if cls.schedule is not None:
        if not isinstance(cls.schedule, str):
            raise ScheduleError(f"schedule must be a string, not {type(cls.schedule).__name__}")
        return CronSchedule(cls.schedule, cls.get_timezone())
    if cls.interval is not None:
        return IntervalSchedule(cls.interval)
    raise ScheduleError("set schedule (a cron expression) or interval (a timedelta)")


class CommandJob(BaseCronJob):
    """Runs a management command on a schedule: set ``command`` (and ``args``/``options``)."""

    abstract = True
    command: ClassVar[str] = ""
    """Name of the management command, e.g. ``"clearsessions"``."""
    args: ClassVar[list[str] | tuple[str, ...]] = ()
    """Positional arguments passed to the command."""
    options: ClassVar[dict[str, Any]] = {}
    """Keyword options passed to ``call_command``."""

    def run(self) -> str | None:
        from django.core.management import call_command

        call_command(self.command, *self.args, **self.options)
        return None
