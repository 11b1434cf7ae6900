"""django-crontab's ``CRONJOBS``: a *list* of tuples, each read as one job.

django-crontab (0.7.1) writes one crontab line per entry, each running ``manage.py crontab run
<md5 of the entry>``. Here ``runcrons`` runs them all, each slot once, recorded. An entry is

- ``(expression, "dotted.function")``
- ``(expression, "dotted.function", "> suffix")``: "format 1", a shell suffix for the line
- ``(expression, "dotted.function", [args], {kwargs}, "> suffix")``: "format 2", the last three optional

``"django.core.management.call_command"`` with ``["command", *args]`` becomes a
:class:`~cronjobs.jobs.CommandJob`. The suffixes this can honour without a shell are a redirect
of the output to a file: ``> file``, ``>> file``, each maybe followed by ``2>&1``.

Our own ``CRONJOBS`` is a dict; a list is django-crontab's, and only a list is read here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from cronjobs.exceptions import ScheduleError
from cronjobs.jobs import BaseCronJob, CommandJob
from cronjobs.schedules import CronSchedule

CALL_COMMAND = "django.core.management.call_command"
#: The shell suffixes that mean "append (>>) or write (>) the output to this file".
REDIRECT = re.compile(r"\s*(?P<mode>>>?)\s*(?P<path>[^\s<>|&;]+)(?P<stderr>\s+2>&1)?\s*")


@dataclasses.dataclass(frozen=True)
class Read:
    """What was made of django-crontab's ``CRONJOBS`` list."""

    jobs: list[type[BaseCronJob]]
    """One job class per usable entry, in the list's order."""
    errors: list[str]
    """Entries that could not be mapped, each with its index and the reason."""


class Redirected(BaseCronJob):
    """A job whose output goes to a file as the entry's ``> file`` suffix said (and is recorded too)."""

    abstract = True
    output_file: ClassVar[str | None] = None
    output_mode: ClassVar[str] = "a"
    output_stderr: ClassVar[bool] = False

    @contextlib.contextmanager
    def output(self) -> Iterator[None]:
        if self.output_file is None:
            yield
            return
        with open(self.output_file, self.output_mode, encoding="utf-8") as file, contextlib.redirect_stdout(file):
            if self.output_stderr:
                with contextlib.redirect_stderr(file):
                    yield
            else:
                yield


class FunctionEntry(Redirected):
    """An entry naming a function: each slot calls it with the entry's arguments."""

    abstract = True
    function: ClassVar[str] = ""
    call_args: ClassVar[tuple[Any, ...]] = ()
    call_kwargs: ClassVar[dict[str, Any]] = {}

    def run(self) -> str | None:
        function: Callable[..., Any] = import_string(self.function)
        with self.output():
            result = function(*self.call_args, **self.call_kwargs)
        return result if isinstance(result, str) else None


class CommandEntry(Redirected, CommandJob):
    """An entry calling ``call_command``: a :class:`CommandJob`."""

    abstract = True

    def run(self) -> str | None:
        with self.output():
            return super().run()


def is_crontab_list(value: Any) -> bool:
    """Whether a ``CRONJOBS`` setting is django-crontab's list (ours is a dict)."""
    return isinstance(value, (list, tuple))


@functools.cache
def read() -> Read:
    """The jobs of ``settings.CRONJOBS`` when it is django-crontab's list (cached)."""
    entries: Any = getattr(settings, "CRONJOBS", None)
    if not is_crontab_list(entries):
        return Read([], [])
    jobs: list[type[BaseCronJob]] = []
    errors: list[str] = []
    parsed: list[tuple[int, tuple[Any, ...], dict[str, Any]]] = []
    for index, entry in enumerate(entries):
        try:
            parsed.append((index, entry, _attributes(entry)))
        except ValueError as exc:
            errors.append(f"CRONJOBS[{index}] {_short(entry)}: {exc}")
    codes = [_code(attributes) for _index, _entry, attributes in parsed]
    for (index, entry, attributes), code in zip(parsed, codes, strict=True):
        if codes.count(code) > 1:  # the same call on several schedules: each its own job
            code += "@" + "_".join(entry[0].split())
        base = CommandEntry if "command" in attributes else FunctionEntry
        namespace = {
            **attributes,
            "code": code,
            "__module__": getattr(settings, "SETTINGS_MODULE", None) or __name__,
            "__qualname__": f"CRONJOBS[{index}]",
            "__doc__": f"django-crontab's entry {_short(entry)}",
        }
        jobs.append(type(f"CrontabEntry{index}", (base,), namespace))
    return Read(jobs, errors)


def describe(job: type[BaseCronJob]) -> str:
    """``'myapp.cron.job' (*/5 * * * *)``: an entry as read, for the checks' summary."""
    what = f"command {job.command!r}" if issubclass(job, CommandJob) else repr(getattr(job, "function", ""))
    return f"{job.get_code()} = {what} at {job.schedule!r}"


def _attributes(entry: Any) -> dict[str, Any]:
    """The job class attributes of one entry; ValueError says why it cannot be mapped."""
    if not isinstance(entry, (list, tuple)) or len(entry) < 2:
        raise ValueError("an entry is a tuple (expression, 'dotted.function', ...) of at least two items")
    expression, path, *rest = entry
    if not isinstance(expression, str):
        raise ValueError(f"the schedule must be a cron expression (a string), not {type(expression).__name__}")
    try:
        CronSchedule(expression, "UTC")
    except ScheduleError as exc:
        raise ValueError(f"bad schedule: {exc}") from None
    if not isinstance(path, str) or "." not in path:
        raise ValueError("the second item must be the dotted path of a function, e.g. 'myapp.cron.my_job'")
    args: Any = []
    kwargs: Any = {}
    suffix = ""
    if rest and isinstance(rest[0], str):  # format 1: (expression, path, suffix)
        if len(rest) > 1:
            raise ValueError("after a suffix (format 1) nothing may follow; arguments go before it (format 2)")
        suffix = rest[0]
    else:  # format 2: (expression, path, args, kwargs, suffix)
        if len(rest) > 3:
            raise ValueError("an entry has at most five items: expression, function, args, kwargs, suffix")
        defaults: tuple[Any, ...] = ([], {}, "")
        args, kwargs, suffix = (*rest, *defaults[len(rest) :])
        if not isinstance(args, (list, tuple)):
            raise ValueError(f"the positional arguments must be a list, not {type(args).__name__}")
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise ValueError("the keyword arguments must be a dict with string keys")
        if not isinstance(suffix, str):
            raise ValueError(f"the suffix must be a string, not {type(suffix).__name__}")
    attributes: dict[str, Any] = {"schedule": expression, **_redirect(suffix)}
    if path == CALL_COMMAND:
        if not args or not isinstance(args[0], str):
            raise ValueError("call_command needs the command's name first in the arguments, e.g. ['clearsessions']")
        return {**attributes, "command": args[0], "args": tuple(args[1:]), "options": dict(kwargs)}
    try:
        function = import_string(path)
    except ImportError as exc:
        raise ValueError(f"{path!r} cannot be imported: {exc}") from None
    if not callable(function):
        raise ValueError(f"{path!r} is not callable")
    return {**attributes, "function": path, "call_args": tuple(args), "call_kwargs": dict(kwargs)}


def _redirect(suffix: str) -> dict[str, Any]:
    if not suffix.strip() or suffix.strip() == "2>&1":
        return {}  # the output is recorded with the run anyway
    match = REDIRECT.fullmatch(suffix)
    if match is None:
        raise ValueError(
            f"the suffix {suffix!r} is a shell command line, and runcrons runs no shell: only '> file' "
            "and '>> file' (maybe with 2>&1) are understood"
        )
    return {
        "output_file": match["path"],
        "output_mode": "a" if match["mode"] == ">>" else "w",
        "output_stderr": bool(match["stderr"]),
    }


def _code(attributes: dict[str, Any]) -> str:
    """The job's code, from the call it makes: ``myapp.cron.my_job``, ``command.clearsessions``,
    and, when it passes arguments, a digest of them (``myapp.cron.my_job-1a2b3c4d``)."""
    if "command" in attributes:
        base, arguments = f"command.{attributes['command']}", [list(attributes["args"]), attributes["options"]]
    else:
        base, arguments = attributes["function"], [list(attributes["call_args"]), attributes["call_kwargs"]]
    if arguments == [[], {}]:
        return base
    digest = hashlib.sha256(json.dumps(arguments, sort_keys=True, default=repr).encode()).hexdigest()
    return f"{base}-{digest[:8]}"


def _short(entry: Any) -> str:
    text = repr(entry)
    return text if len(text) <= 120 else text[:117] + "..."


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CRONJOBS", "TIME_ZONE", "INSTALLED_APPS"):
        read.cache_clear()
