"""The job API beyond the schedule: hooks, conditions (environments, windows), maintenance mode."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any

from django.core.checks import CheckMessage, Warning, register

from cronjobs import conf, registry
from cronjobs.checks.base import TAG, error
from cronjobs.engine import conditions
from cronjobs.engine.hooks import NAMES, defines_hooks
from cronjobs.jobs import BaseCronJob

#: The arguments each hook is called with (besides ``self``).
HOOK_ARGUMENTS = {"on_start": (), "on_success": ("result",), "on_failure": ("error",), "on_finish": ("outcome",)}


def warning(msg: str, hint: str, id: int, obj: Any = None) -> Warning:
    return Warning(msg, hint=hint, obj=obj, id=f"cronjobs.W{id:03d}")


@register(TAG)
def check_job_api(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    environment = conf.get("ENVIRONMENT")
    if environment is not None and not isinstance(environment, str):
        messages.append(
            error(
                f"CRONJOBS['ENVIRONMENT'] is {environment!r}.",
                "Use a name such as 'production', matched against jobs' environments, or None.",
                195,
            )
        )
    hooks: dict[Any, str | None] = {}
    for job in registry.discover().classes:
        messages.extend(_check_hooks(job, hooks))
        messages.extend(_check_conditions(job))
        messages.extend(_check_jitter(job))
        messages.extend(_check_retry_policy(job))
        if inspect.isasyncgenfunction(job.run) or inspect.isgeneratorfunction(job.run):
            messages.append(
                error(
                    f"{job.__qualname__}: run() yields; it would return a generator without doing the work.",
                    "Define def run(self) or async def run(self), returning the message (or None).",
                    201,
                    job,
                )
            )
        if not isinstance(job.run_in_maintenance, bool):
            messages.append(
                error(
                    f"{job.__qualname__}: run_in_maintenance is {job.run_in_maintenance!r}.",
                    "Use True or False.",
                    194,
                    job,
                )
            )
    return messages


def _check_hooks(job: type[BaseCronJob], seen: dict[Any, str | None] | None = None) -> list[CheckMessage]:
    """Each hook accepts what the runner passes it. ``seen``: what is known of hook functions
    already checked (most jobs inherit the same ones: each is read once per check run)."""
    messages: list[CheckMessage] = []
    seen = {} if seen is None else seen
    for name in (*NAMES, "should_run"):
        hook = getattr(job, name)
        expected = HOOK_ARGUMENTS.get(name, ("slot",))
        call = f"{name}(self{''.join(', ' + a for a in expected)})"
        try:
            problem = seen[(name, hook)]
        except KeyError:
            problem = seen[(name, hook)] = _hook_problem(hook, expected)
        except TypeError:  # not hashable: not a function either
            problem = _hook_problem(hook, expected)
        if problem == "not callable":
            messages.append(
                error(f"{job.__qualname__}: {name} is {hook!r}, not a method.", f"Define def {call}.", 193, job)
            )
        elif problem == "coroutine":
            messages.append(
                error(
                    f"{job.__qualname__}: {name} is a coroutine function; it would never be awaited.",
                    f"Define a plain def {call}.",
                    193,
                    job,
                )
            )
        elif problem == "arguments":
            messages.append(
                error(f"{job.__qualname__}: {name} does not accept {call}.", f"Define def {call}.", 193, job)
            )
    if job.task_backend is not None and defines_hooks(job):
        messages.append(
            warning(
                f"{job.__qualname__}: defines hooks but hands its work to the task backend {job.task_backend!r}; "
                "hooks are called only where run() runs here.",
                "Move the hook's work into run(), or drop task_backend.",
                190,
                job,
            )
        )
    return messages


def _hook_problem(hook: Any, expected: tuple[str, ...]) -> str | None:
    if not callable(hook):
        return "not callable"
    if inspect.iscoroutinefunction(hook):
        return "coroutine"
    try:
        inspect.signature(hook).bind(None, *expected)
    except TypeError:
        return "arguments"
    except ValueError:  # no signature to read (a builtin): let it be
        pass
    return None


def _check_conditions(job: type[BaseCronJob]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    envs = job.environments
    if envs is not None:
        if not isinstance(envs, (tuple, list, set, frozenset)) or not all(isinstance(e, str) for e in envs):
            messages.append(
                error(
                    f"{job.__qualname__}: environments is {envs!r}.",
                    "Use a tuple of names, e.g. environments = ('production',) (note the comma).",
                    190,
                    job,
                )
            )
        elif conf.get("ENVIRONMENT") is None:
            messages.append(
                warning(
                    f"{job.__qualname__}: sets environments but CRONJOBS['ENVIRONMENT'] is not set, "
                    "so every slot is skipped.",
                    "Set CRONJOBS['ENVIRONMENT'] (e.g. from an environment variable) in each deployment's settings.",
                    191,
                    job,
                )
            )
    for name, id in (("between", 191), ("unless_between", 192)):
        window = getattr(job, name)
        if window is None:
            continue
        try:
            conditions.parse_window(window)
        except ValueError as exc:
            messages.append(
                error(
                    f"{job.__qualname__}: {name} {exc}.",
                    f"Use two 'HH:MM' times in the job's zone, e.g. {name} = ('08:00', '18:00'); "
                    "an end before the start spans midnight.",
                    id,
                    job,
                )
            )
    return messages


def _check_jitter(job: type[BaseCronJob]) -> list[CheckMessage]:
    value = job.jitter
    if value is None:
        return []
    if not isinstance(value, timedelta) or value < timedelta(0):
        return [
            error(
                f"{job.__qualname__}: jitter is {value!r}.",
                "Use a positive timedelta, e.g. timedelta(seconds=30).",
                196,
                job,
            )
        ]
    if isinstance(job.interval, timedelta) and job.interval and value >= job.interval:
        return [
            warning(
                f"{job.__qualname__}: jitter {value} is not shorter than its interval {job.interval}, "
                "so a slot may start after the next one is due.",
                "Keep jitter well under the interval (a tenth of it, say).",
                193,
                job,
            )
        ]
    return []


def _check_retry_policy(job: type[BaseCronJob]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    name = job.__qualname__
    backoff = job.retry_backoff
    if backoff is not None and (not isinstance(backoff, (int, float)) or isinstance(backoff, bool) or backoff < 1):
        messages.append(error(f"{name}: retry_backoff is {backoff!r}.", "Use a number of 1 or more, e.g. 2.", 197, job))
    cap = job.retry_max_delay
    if cap is not None and (not isinstance(cap, timedelta) or cap <= timedelta(0)):
        messages.append(error(f"{name}: retry_max_delay is {cap!r}.", "Use a positive timedelta, or None.", 198, job))
    kinds = job.retry_on
    if kinds is not None and (
        not isinstance(kinds, tuple)
        or not kinds
        or not all(isinstance(k, type) and issubclass(k, BaseException) for k in kinds)
    ):
        messages.append(
            error(
                f"{name}: retry_on is {kinds!r}.",
                "Use a tuple of exception classes, e.g. retry_on = (ConnectionError,) (note the comma).",
                199,
                job,
            )
        )
    if not isinstance(job.retry_jitter, bool):
        messages.append(error(f"{name}: retry_jitter is {job.retry_jitter!r}.", "Use True or False.", 200, job))
    if (backoff is not None or cap is not None or kinds is not None) and job.retries == 0:
        messages.append(
            warning(
                f"{name}: sets a retry policy but retries is 0, so it is never retried.",
                "Set retries = 3 (for example), or drop the retry options.",
                194,
                job,
            )
        )
    return messages
