"""What every subcommand of ``manage.py cronjobs`` has, and what they share."""

from __future__ import annotations

import getpass
import json
import socket
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cronjobs.jobs import BaseCronJob
from cronjobs.text import printable

if TYPE_CHECKING:
    from django.core.management.base import OutputWrapper
    from django.core.management.color import Style

EXIT_USAGE = 2


class Context:
    """What a subcommand works with: the moment, the registered jobs, the command's output."""

    def __init__(self, now: datetime, jobs: dict[str, type[BaseCronJob]], stdout: OutputWrapper, style: Style) -> None:
        self.now = now
        self.jobs = jobs
        self.stdout = stdout
        self.style = style

    def job(self, code: str) -> type[BaseCronJob]:
        """The registered job ``code``; :class:`~cronjobs.ops.overview.UnknownJob` suggests the closest."""
        from cronjobs.ops import overview

        return self.jobs[overview.find_code(code, self.jobs)]

    def zone(self, code: str) -> str:
        job = self.jobs.get(code)
        return job.get_timezone() if job else "UTC"


class Subcommand:
    """``manage.py cronjobs NAME ...``: parse in :meth:`add_arguments`, act in :meth:`handle`."""

    name = ""
    help = ""

    def add_arguments(self, parser: Any) -> None:
        """Add this subcommand's arguments to its parser."""

    #: ``handle(context, **options)``: act, with the parsed options as keywords.
    handle: Callable[..., None]


def confirm(question: str, *, refusal: str, yes: bool) -> bool:
    """Whether to go on: ``--yes``, or "y" to ``question`` on a terminal (``[y/N]`` is added).

    Without a terminal and without ``--yes``, nothing is asked and nothing done: exit 2 with
    ``refusal`` (say what --yes would do)."""
    from django.core.management import CommandError

    if yes:
        return True
    if not sys.stdin.isatty():
        raise CommandError(refusal, returncode=EXIT_USAGE)
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def actor() -> str:
    """Who acts from a terminal, for the record of actions."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (containers)
        user = "?"
    return f"{user}@{socket.gethostname()} (manage.py cronjobs)"


def one_line(value: str, limit: int = 120) -> str:
    """``value`` on one line for a person: whitespace collapsed, control characters escaped (see
    :func:`cronjobs.text.printable`), at most ``limit`` characters."""
    line = printable(" ".join(value.split()))
    return line if len(line) <= limit else line[: limit - 3] + "..."


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
