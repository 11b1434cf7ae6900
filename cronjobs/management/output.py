"""What runcrons writes, for a person at a terminal and for cron's mail or a log file.

On a terminal, lines stay as they are. Elsewhere (cron, a pipe, a log file) the real stdout
is line-buffered, so each line lands as it is written and before the summary on stderr, and
each line starts with the time it was written, in ``TIME_ZONE``.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from django.core.management.base import OutputWrapper


def stamp() -> str:
    """``2026-12-02 21:55:01 CET``: now, in the project's time zone."""
    return f"{timezone.localtime():%Y-%m-%d %H:%M:%S %Z}"


def prepare(stdout: OutputWrapper) -> Callable[[str], str]:
    """Line-buffer the real stdout when it is not a terminal; return how to format a line."""
    if stdout.isatty():
        return lambda line: line
    for stream in {id(s): s for s in (getattr(stdout, "_out", None), sys.stdout, sys.stderr)}.values():
        if isinstance(stream, io.TextIOWrapper) and not stream.isatty():
            stream.reconfigure(line_buffering=True)
    return lambda line: f"{stamp()} {line}"
