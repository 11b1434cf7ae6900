"""Text from jobs and tasks, made safe to store and to show.

What a job prints, logs, raises or returns comes from outside: a file name as ``os.listdir``
gives it (bytes that are not UTF-8 become lone surrogates, ``"caf\\udce9.csv"``), a NUL from a
C library, an escape sequence that retitles a terminal. Stored as it is, a NUL is refused by
PostgreSQL and a lone surrogate by every driver; shown as it is, an escape sequence acts on
the operator's terminal.

**Storing** (:func:`storable`, :func:`storable_json`): NUL and lone surrogates (every code point
U+D800 to U+DFFF: Python strings hold no surrogate pairs) become the escapes Python's own
``repr`` would show, ``\\x00`` and ``\\udce9``, on every database alike; nothing else changes,
and a text past its bound is cut in the middle with a marker that says how much. Values that
must come back exactly as they were given (a task's arguments) are refused instead:
:func:`unstorable` says where the first such character is.

**Showing** (:func:`printable`): control characters (C0, DEL, C1), the bidirectional
overrides and lone surrogates become the same escapes, on a terminal and elsewhere alike: what
runcrons writes to cron's mail or a log file is read later with ``less`` or ``tail -f`` in a
terminal, where an escape sequence acts all the same; the exact text stays in the database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: Put where a run's output was cut; formatted with the number of characters left out.
CUT_MARKER = "\n[... {count} bytes cut here by CRONJOBS['OUTPUT_LIMIT'] ...]\n"
#: Put where another text (a message, a traceback) was cut.
TEXT_CUT_MARKER = "\n[... {count} characters cut here ...]\n"
#: The most characters of a run's message or traceback, or of a task's traceback, that are stored.
TEXT_LIMIT = 100_000

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: Controls (C0 but tab and newline, DEL, C1), bidirectional marks, overrides and isolates, lone surrogates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNPRINTABLE_IN_A_LINE = re.compile("[\t\n" + _UNPRINTABLE.pattern[1:])


def escape(character: str) -> str:
    """``\\x00``, ``\\x1b``, ``\\udce9``: a character as Python's ``repr`` writes it."""
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _escaped(match: re.Match[str]) -> str:
    return escape(match.group())


def storable(text: str, limit: int | None = TEXT_LIMIT, marker: str = TEXT_CUT_MARKER) -> str:
    """``text`` as every supported database stores it: NUL and lone surrogates escaped (see the
    module's doc), then, beyond ``limit`` characters (None: no limit), the middle cut and marked."""
    if text.isascii() and "\x00" not in text:  # the usual case, found without a scan in Python
        safe = text
    else:
        safe = _UNSTORABLE.sub(_escaped, text)
    return safe if limit is None else bounded(safe, limit, marker)


def bounded(text: str, limit: int, marker: str = TEXT_CUT_MARKER) -> str:
    """``text``, or its first and last ``limit // 2`` characters around ``marker``."""
    limit = max(0, limit)
    if len(text) <= limit:
        return text
    head, tail = limit // 2, limit - limit // 2
    return text[:head] + marker.format(count=len(text) - head - tail) + text[len(text) - tail :]


def ascii_only(text: str, limit: int) -> str:
    """``text`` in ASCII, every other character escaped (``\\xe9``, ``\\U0001f600``), cut to
    ``limit``: what any database stores, when one refused the text as it was."""
    return bounded(text.encode("ascii", "backslashreplace").decode("ascii").replace("\x00", "\\x00"), limit)


def storable_json(value: Any) -> Any:
    """A JSON value (as ``json.loads`` returns it) with its strings, keys included, escaped as
    :func:`storable` does, and not cut. The value itself when nothing needed a change."""
    return _walk(value, lambda text: storable(text, None))


def _walk(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        items = [_walk(item, change) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, dict):
        pairs = [(change(k) if isinstance(k, str) else k, _walk(v, change)) for k, v in value.items()]
        same = all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True))
        return value if same else dict(pairs)
    return value


def unstorable(value: Any, within: str = "") -> str | None:
    """What and where the first character of a JSON value is that :func:`storable` would change
    (``"a NUL character at index 3 of key 'name' of item 0"``); None when there is none."""
    if isinstance(value, str):
        found = None if value.isascii() and "\x00" not in value else _UNSTORABLE.search(value)
        if found is None:
            return None
        what = "a NUL character" if found.group() == "\x00" else f"a lone surrogate ({escape(found.group())})"
        return f"{what} at index {found.start()}{within}"
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            where = unstorable(item, f" of item {i}{within}")
            if where is not None:
                return where
    elif isinstance(value, dict):
        for key, item in value.items():
            where = unstorable(key, f" of a key{within}") if isinstance(key, str) else None
            where = where or unstorable(item, f" of key {printable(str(key))!r}{within}")
            if where is not None:
                return where
    return None


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` safe to write for a person (see the module's doc); ``lines``: keep its newlines
    and tabs (a traceback, an output), else they are escaped too."""
    pattern = _UNPRINTABLE if lines else _UNPRINTABLE_IN_A_LINE
    if text.isascii() and text.isprintable():  # the usual case, without a scan in Python
        return text
    return pattern.sub(_escaped, text)
