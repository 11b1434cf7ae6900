"""Jobs and tasks that emit hostile text: bytes that are not UTF-8 (as ``os.listdir`` gives them,
with ``surrogateescape``), NUL characters, terminal escape sequences, and very long strings.

The text is :data:`TEXT` when a test in this process sets it, else ``CRONJOBS_TEST_HOSTILE``
when set (JSON: a string, surrogates written as ``\\udce9`` escapes), else each one's default.
"""

import json
import logging
import os
import sys

from cronjobs import BaseCronJob
from cronjobs.tasks_api import task

#: Set by tests that run these in their own process.
TEXT: str | None = None


def hostile(default: str) -> str:
    if TEXT is not None:
        return TEXT
    found = os.environ.get("CRONJOBS_TEST_HOSTILE")
    return json.loads(found) if found is not None else default


class LogsUndecodableName(BaseCronJob):
    """Logs and prints a file name that is not UTF-8, as ``os.listdir`` returns it."""

    schedule = "* * * * *"
    code = "test.logs_undecodable_name"

    def run(self):
        name = hostile("caf\udce9.csv")
        logging.getLogger("testapp").warning("importing %s", name)
        print("read", name)  # noqa: T201  (captured: that is the point)
        print("on stderr", name, file=sys.stderr)  # noqa: T201  (captured: that is the point)
        return f"imported {name}"


class FailsWithNul(BaseCronJob):
    """Prints and logs its text, then fails with it (default: a NUL character) in its message."""

    schedule = "* * * * *"
    code = "test.fails_with_nul"

    def run(self):
        text = hostile("a\x00b")
        print("about to fail:", text)  # noqa: T201  (captured: that is the point)
        logging.getLogger("testapp").error("failing with %s", text)
        raise FileNotFoundError(text)


class PrintsEscapes(BaseCronJob):
    """Returns (and prints) a message holding terminal escape sequences."""

    schedule = "* * * * *"
    code = "test.prints_escapes"

    def run(self):
        text = hostile("\x1b]0;owned\x07\x1b[2J\x1b[31mred\x1b[0m")
        print(text)  # noqa: T201  (captured: that is the point)
        return text


@task
def raises_hostile(default):
    raise ValueError(hostile(default))


@task
def returns_hostile(default):
    return hostile(default)


@task
def takes(value):
    return None
