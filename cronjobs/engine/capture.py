"""Capturing what a job prints and logs while it runs, bounded in size.

Python-level output only: ``sys.stdout``, ``sys.stderr`` and records that reach the root
logger. Output written straight to the file descriptors (a child process, C code) is not
captured. Beyond ``limit`` characters the middle is cut and a marker says where and how much.
"""

from __future__ import annotations

import collections
import contextlib
import io
import logging
import sys
from types import TracebackType

from cronjobs.text import CUT_MARKER


class BoundedText:
    """Keeps the first and the last ``limit // 2`` characters written, in bounded memory."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self._head: list[str] = []
        self._head_size = 0
        self._tail: collections.deque[str] = collections.deque()
        self._tail_size = 0
        self.dropped = 0

    def write(self, text: str) -> int:
        if not text:
            return 0
        room = self.limit // 2 - self._head_size
        if room > 0:
            self._head.append(text[:room])
            self._head_size += min(room, len(text))
            rest = text[room:]
        else:
            rest = text
        if rest:
            self._tail.append(rest)
            self._tail_size += len(rest)
            keep = self.limit - self.limit // 2
            while self._tail_size > keep:
                first = self._tail[0]
                excess = self._tail_size - keep
                if len(first) <= excess:
                    self._tail.popleft()
                    self._tail_size -= len(first)
                    self.dropped += len(first)
                else:
                    self._tail[0] = first[excess:]
                    self._tail_size -= excess
                    self.dropped += excess
        return len(text)

    def getvalue(self) -> str:
        head, tail = "".join(self._head), "".join(self._tail)
        if self.dropped:
            return head + CUT_MARKER.format(count=self.dropped) + tail
        return head + tail

    def tail(self, size: int) -> str:
        """The last ``size`` characters kept (for health-check bodies)."""
        return self.getvalue()[-size:] if size > 0 else ""


class _Stream(io.TextIOBase):
    """A text stream writing into a :class:`BoundedText`, standing in for stdout/stderr."""

    def __init__(self, sink: BoundedText, original: object) -> None:
        self._sink = sink
        self._original = original

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self._sink.write(str(text))

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._original, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        return False


#: How a captured log record reads in the run's output (formatters keep no state between records).
_FORMATTER = logging.Formatter("%(levelname)s %(name)s: %(message)s")


class _Handler(logging.Handler):
    def __init__(self, sink: BoundedText) -> None:
        super().__init__(logging.NOTSET)
        self.sink = sink
        self.setFormatter(_FORMATTER)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - logging's own convention
            self.handleError(record)


class Capture:
    """A context manager: while inside, stdout, stderr and logging go to :attr:`text`."""

    def __init__(self, limit: int) -> None:
        self.text = BoundedText(limit)
        self._stack: contextlib.ExitStack | None = None
        self._handler = _Handler(self.text)

    def __enter__(self) -> Capture:
        stack = contextlib.ExitStack()
        stack.enter_context(contextlib.redirect_stdout(_Stream(self.text, sys.stdout)))
        stack.enter_context(contextlib.redirect_stderr(_Stream(self.text, sys.stderr)))
        root = logging.getLogger()
        root.addHandler(self._handler)
        stack.callback(root.removeHandler, self._handler)
        self._stack = stack
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            stack.close()

    def getvalue(self) -> str:
        return self.text.getvalue()
