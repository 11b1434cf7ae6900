"""``@cron(...)``: a function, or a Django Tasks task, on a schedule without writing a class.

The decorator builds a real :class:`~cronjobs.jobs.BaseCronJob` subclass from its keyword
arguments (the class attributes of the same names), so discovery, the system checks, the
runner and the records treat it as any job class. It returns what it decorated, unchanged: a
function stays callable as before, a task stays the task its backend's workers import by path.
The generated class is the function's ``cron_job`` attribute (a task's: ``task.func.cron_job``),
and :func:`job_of` finds it from either.

- On a function (sync or ``async def``, taking no arguments): each slot's ``run()`` calls it,
  in the job's transaction; what it returns is the run's message.
- On a task (``@cron(...)`` above ``@task``): each slot enqueues the task, with no arguments, on
  its own backend and queue, and the run follows the task to its final result, as a job with
  ``task_backend`` does (:mod:`cronjobs.engine.handoff`, :mod:`cronjobs.engine.following`).
  ``@task`` above ``@cron(...)`` would make a task of the function and run the function here
  each slot: check ``cronjobs.E125`` reports it.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from cronjobs.jobs import BaseCronJob

if TYPE_CHECKING:
    from cronjobs.tasks_api import Task

T = TypeVar("T")

#: The keyword arguments of :func:`cron`: every class attribute of :class:`BaseCronJob` but
#: ``abstract`` (a decorated function is always a job).
OPTIONS: tuple[str, ...] = tuple(
    name
    for name, annotation in inspect.get_annotations(BaseCronJob).items()
    if str(annotation).startswith("ClassVar") and name != "abstract"
)

#: Options that do not apply to a task, and what to do instead.
NOT_FOR_TASKS = {
    "task_backend": "a task is enqueued on its own backend: @task(backend=...) or task.using(backend=...)",
    "task_queue": "a task is enqueued on its own queue: @task(queue_name=...) or task.using(queue_name=...)",
    "atomic": "a task runs in its backend's worker, in the transaction its backend gives it",
    "database": "a task runs in its backend's worker, in the transaction its backend gives it",
    "timeout": "a task's time limit is its backend's (cronjobs' DatabaseBackend: @task_options(timeout=...))",
}


class FunctionJob(BaseCronJob):
    """What :func:`cron` makes of a function: ``run()`` calls it."""

    abstract = True
    function: ClassVar[Callable[[], Any]]

    def run(self) -> Any:
        return type(self).function()


class AsyncFunctionJob(FunctionJob):
    """What :func:`cron` makes of an ``async def`` function: ``run()`` awaits it."""

    abstract = True

    async def run(self) -> Any:  # type: ignore[override]
        return await type(self).function()


class TaskJob(BaseCronJob):
    """What :func:`cron` makes of a task: each slot enqueues it (:mod:`cronjobs.engine.handoff`)."""

    abstract = True
    task: ClassVar[Task]
    arguments: ClassVar[tuple[Any, ...]] = ()
    """Enqueued with these positional arguments (a stored schedule's; ``@cron`` gives none)."""
    keywords: ClassVar[dict[str, Any]] = {}
    """... and these keyword arguments."""

    def run(self) -> str | None:
        raise RuntimeError(
            f"{type(self).__qualname__} is a scheduled task: each slot enqueues it on task backend "
            f"{self.task.backend!r}, whose workers run it"
        )


def cron(schedule: str | None = None, /, **options: Any) -> Callable[[T], T]:
    """Run the decorated function, or enqueue the decorated task, on a schedule.

    ``@cron("*/5 * * * *", timeout=timedelta(minutes=2))`` or ``@cron(interval=timedelta(seconds=30))``;
    the keyword arguments are the attributes of :class:`BaseCronJob` (see :data:`OPTIONS`).
    """
    if callable(schedule):
        raise TypeError('@cron needs a schedule: write @cron("*/5 * * * *") or @cron(interval=timedelta(...))')
    if schedule is not None:
        if "schedule" in options:
            raise TypeError("@cron got the schedule twice: as its first argument and as schedule=")
        options["schedule"] = schedule
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"@cron got {_unknown(unknown)}; it accepts {', '.join(OPTIONS)}")

    def decorate(target: T) -> T:
        task = _as_task(target)
        if task is not None:
            _attach(task.func, _task_job(task, options))
        elif inspect.isfunction(target):
            _attach(target, _function_job(target, options))
        else:
            raise TypeError(
                f"@cron(...) decorates a function or a Django Tasks task, not {target!r}"
                + ("; a job class sets schedule = ... itself" if inspect.isclass(target) else "")
            )
        return target

    return decorate


def job_of(target: Any) -> type[BaseCronJob] | None:
    """The job class :func:`cron` made of ``target`` (a function or a task), or None."""
    function = target.func if _as_task(target) is not None else target
    if not inspect.isfunction(function):
        return None
    job = function.__dict__.get("cron_job")
    return job if isinstance(job, type) and issubclass(job, BaseCronJob) else None


def is_task(target: Any) -> bool:
    """Whether ``target`` is a Django Tasks task (the object ``@task`` returns)."""
    return _as_task(target) is not None


def _as_task(target: Any) -> Task | None:
    if inspect.isfunction(target) or inspect.isclass(target) or not hasattr(target, "enqueue"):
        return None  # not a task: the Tasks API need not even be installed
    try:
        from cronjobs.tasks_api import Task
    except ImportError:  # Django 5.2 without the backport: there are no tasks
        return None
    return target if isinstance(target, Task) else None


def _function_job(function: Callable[..., Any], options: dict[str, Any]) -> type[BaseCronJob]:
    if inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        raise TypeError(f"@cron: {function.__qualname__}() yields; a scheduled function returns its message")
    _callable_without_arguments(function, "a scheduled function is called without arguments")
    base = AsyncFunctionJob if inspect.iscoroutinefunction(function) else FunctionJob
    return _job_class(base, function, {**options, "function": staticmethod(function)})


def _task_job(task: Task, options: dict[str, Any]) -> type[BaseCronJob]:
    refused = sorted(set(options) & set(NOT_FOR_TASKS))
    if refused:
        raise TypeError(f"@cron on task {task.name}: {refused[0]} does not apply: {NOT_FOR_TASKS[refused[0]]}")
    _callable_without_arguments(task.func, "each slot enqueues the task without arguments", context=task.takes_context)
    attributes = {**options, "task": task, "task_backend": task.backend, "task_queue": task.queue_name}
    return _job_class(TaskJob, task.func, attributes)


def _job_class(base: type[BaseCronJob], function: Callable[..., Any], attributes: dict[str, Any]) -> type[BaseCronJob]:
    """A subclass of ``base`` named and placed as ``function`` (so its code defaults to
    ``"<app_label>.<function name>"``, and check messages point at the function's lines)."""
    namespace = {
        **attributes,
        "__module__": function.__module__,
        "__qualname__": function.__qualname__,
        "__doc__": function.__doc__,
        "__wrapped__": function,  # inspect.getsourcelines() of the class: the function's
        "__firstlineno__": function.__code__.co_firstlineno,  # (Python 3.13+ reads this instead)
    }
    return type(function.__name__, (base,), namespace)


def _attach(function: Callable[..., Any], job: type[BaseCronJob]) -> None:
    if "cron_job" in function.__dict__:
        raise TypeError(
            f"@cron: {function.__qualname__} is on a schedule already; one @cron per function "
            "(for a second schedule, write a second function or a job class)"
        )
    function.cron_job = job  # type: ignore[attr-defined]


def _callable_without_arguments(function: Callable[..., Any], why: str, *, context: bool = False) -> None:
    try:
        inspect.signature(function).bind(*(["context"] if context else []))
    except TypeError:
        raise TypeError(f"@cron: {function.__qualname__}() requires arguments; {why}") from None


def _unknown(names: list[str]) -> str:
    said = []
    for name in names:
        close = difflib.get_close_matches(name, OPTIONS, n=1)
        said.append(f"unknown keyword {name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return ", ".join(said)
