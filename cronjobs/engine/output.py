"""A run's output: what it writes to its file descriptors 1 and 2, and its log records.

Captured at the file descriptors, so what C code and the programs a job starts write is kept
too. In a work horse, fds 1 and 2 point at a file its supervisor made (and reads what is there
if it has to stop the run); each run starts it empty. Inline (tests), the run's own temporary
file takes their place while the job runs. Log records that reach the root logger are written
there as well, unless a handler of the root logger writes to the standard streams already. The
run's record keeps the first and last ``OUTPUT_LIMIT // 2`` bytes, with a marker between.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from types import TracebackType
from typing import TextIO

from cronjobs.text import CUT_MARKER

#: How a captured log record reads in the run's output.
_FORMATTER = logging.Formatter("%(levelname)s %(name)s: %(message)s")


class Output:
    """``with Output(limit) as output:`` captures the block's output; ``output.getvalue()`` after.

    ``inline``: the file descriptors are the calling process's own, given back afterwards; else
    they point at the work horse's output file already."""

    def __init__(self, limit: int, *, inline: bool = False) -> None:
        self.limit = max(0, limit)
        self.inline = inline
        self._handler: logging.Handler | None = None
        self._saved: tuple[int, int] | None = None
        self._file: int | None = None
        self._streams: tuple[TextIO, TextIO] | None = None
        self._value = ""

    def __enter__(self) -> Output:
        _flush()
        if self.inline:
            self._file = _output_file()
            self._saved = (os.dup(1), os.dup(2))
            os.dup2(self._file, 1)
            os.dup2(self._file, 2)
            # The caller's sys.stdout may not write to fd 1 (pytest's capture, say): one stream on
            # the file stands in for both while the job runs.
            self._streams = (sys.stdout, sys.stderr)
            sys.stdout = sys.stderr = open(
                os.dup(self._file), "w", buffering=1, encoding="utf-8", errors="backslashreplace"
            )
        else:
            os.ftruncate(1, 0)  # opened with O_APPEND: writes go on from the new end
        root = logging.getLogger()
        if not any(_to_standard_streams(handler) for handler in root.handlers):
            self._handler = logging.StreamHandler(_Stderr())
            self._handler.setFormatter(_FORMATTER)
            root.addHandler(self._handler)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            self._handler = None
        _flush()
        self._value = read_bounded(1, self.limit)
        if self._streams is not None:
            sys.stdout.close()
            sys.stdout, sys.stderr = self._streams
            self._streams = None
        if self._saved is not None and self._file is not None:
            os.dup2(self._saved[0], 1)
            os.dup2(self._saved[1], 2)
            for fd in (*self._saved, self._file):
                os.close(fd)
            self._saved = self._file = None

    def getvalue(self) -> str:
        return self._value


def output_file() -> int:
    """A new, unnamed output file, open for appending (what a work horse's fds 1 and 2 point at)."""
    return _output_file()


def _output_file() -> int:
    handle, path = tempfile.mkstemp(prefix="cronjobs-output-")
    os.close(handle)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
    os.unlink(path)
    return fd


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


class _Stderr:
    """The standard error of the moment (the captured one while a run captures)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _to_standard_streams(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    try:
        return stream is not None and stream.fileno() in (1, 2)
    except (OSError, ValueError, AttributeError):
        return False


def read_bounded(fd: int, limit: int) -> str:
    """What the output file ``fd`` holds, as text: its first and last ``limit // 2`` bytes, with a
    marker where the middle was cut. Bytes that are not UTF-8 are kept, stored escaped."""
    size = os.fstat(fd).st_size
    if size <= limit:
        return _text(os.pread(fd, size, 0))
    half = limit // 2
    head, tail = os.pread(fd, half, 0), os.pread(fd, limit - half, size - (limit - half))
    return _text(head) + CUT_MARKER.format(count=size - limit) + _text(tail)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")  # stored as \udcff escapes
