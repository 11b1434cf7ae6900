"""How things read for a person, the same in every command, mail, admin page and message.

- a moment: ``2026-12-06 23:29:26 UTC`` (:func:`moment`), in the zone given or ``TIME_ZONE``;
- a run's status: ``timed out``, ``handed off`` (:func:`status`), the words of ``list``;
- a count: ``1 slot``, ``2 slots`` (:func:`count`);
- a duration: ``0.4 ms``, ``1.25 s``, ``45 s``, ``2.5 min`` (:func:`duration`);
- ordinals in a schedule's words: ``every 5th minute``, ``every 10th minute`` (:func:`ordinals`).

JSON output and log lines keep ISO 8601: they are read by programs.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo


def moment(value: datetime, zone: str | tzinfo | None = None) -> str:
    """``2026-12-06 23:29:26 UTC``: ``value`` in ``zone`` (default: ``TIME_ZONE``), to the second."""
    from django.utils import timezone

    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    local = timezone.localtime(value, zone)
    return f"{local.year:04d}-{local:%m-%d %H:%M:%S %Z}"  # %Y drops the zeros of year 1 on Linux


def status(value: str) -> str:
    """``timed out`` for ``"timed_out"``: a run's status as ``cronjobs list`` and the admin say it."""
    from cronjobs.models import Run

    try:
        return str(Run.Status(value).label)
    except ValueError:
        return str(value).replace("_", " ")


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``1 slot``, ``0 slots``, ``2 runs``."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def duration(seconds: float) -> str:
    """``0.4 ms``, ``12 ms``, ``1.25 s``, ``45 s``, ``2.5 min``: a few significant digits, never ``0.00 s``."""
    if seconds <= 0:
        return "0 s"
    if seconds < 0.001:
        return f"{seconds * 1000:.2f} ms"
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
}
_ORDINAL_WORD = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\b", re.IGNORECASE)


def ordinals(text: str) -> str:
    """``Every fifth minute``: ``Every 5th minute``, as ``Every 10th minute`` already reads."""
    return _ORDINAL_WORD.sub(lambda m: _ordinal(_ORDINALS[m[1].lower()]), text)


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
