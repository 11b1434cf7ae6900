"""Whatever text a job or a task emits, it ends recorded, on SQLite, PostgreSQL and MariaDB.

hypothesis draws hostile strings: NUL, lone surrogates, bytes that are not UTF-8 decoded with
``surrogateescape`` (as ``os.listdir`` gives file names), terminal escape sequences, characters
beyond the BMP, plus one string of 5 MB. Each goes through the output, the log records, the
message and the traceback of cron jobs run by the engine, through the return value and the
error of tasks drained by the worker, and through a task's arguments, against each server
in this process (:mod:`tests.support.routed`). Every run and every task ends recorded, the
stored text is the emitted one with NUL and lone surrogates escaped (and cut where it is too
long), the job after them runs, and an argument that cannot be stored is refused at enqueue
with ``InvalidTask`` naming it. ``test_hostile_text_processes`` shows the same through real
``runcrons`` processes.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
import time
import traceback
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cronjobs import BaseCronJob
from cronjobs.tasks.worker import Worker
from cronjobs.tasks_api import InvalidTaskError, TaskResultStatus
from cronjobs.testing import run_job
from cronjobs.text import CUT_MARKER, TEXT_CUT_MARKER, TEXT_LIMIT, storable, storable_json, unstorable
from tests.support.routed import routed_to
from tests.testapp import hostile

pytestmark = pytest.mark.processes  # real servers (the project fixture), no processes of its own

PROPERTIES = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SPECIAL = [
    "\x00",
    "\udce9",
    "\ud800",
    "\udfff",
    "\ud83d\ude00",  # a surrogate pair in a Python string: two lone surrogates
    "\U0001f600",
    "\x1b]0;owned\x07",
    "\x1b[2J",
    "\r",
    "\x7f",
    "\x9b",
    "\u202e",
    "\\x00",
    "%s",
    "\n",
]
PIECES = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=12),  # surrogates and controls included
    st.binary(max_size=24).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    st.sampled_from(SPECIAL),
)
HOSTILE = st.lists(PIECES, max_size=6).map("".join)
#: 5 MB, a NUL, a lone surrogate and an escape sequence in every kilobyte.
FIVE_MB = ("x" * 997 + "\x00\udce9\x1b") * 5_000
OUTPUT_LIMIT = 64_000
BASE = datetime(2026, 1, 1, tzinfo=timezone.utc)


class Emits(BaseCronJob):
    """Prints, writes to stderr and logs the text, then returns it."""

    schedule = "* * * * *"
    code = "hostile.emits"
    raises = False

    def run(self) -> str:
        text = hostile.TEXT or ""
        print("printed", text)  # noqa: T201  (captured: that is the point)
        print("to stderr", text, file=sys.stderr)  # noqa: T201  (captured: that is the point)
        logging.getLogger("testapp").warning("logged %s", text)
        if self.raises:
            raise ValueError(text)
        return text


class Raises(Emits):
    """The same, then fails with the text as its error."""

    code = "hostile.raises"
    raises = True


class Next(BaseCronJob):
    schedule = "* * * * *"
    code = "hostile.next"

    def run(self) -> str:
        return "ran"


def test_whatever_text_jobs_and_tasks_emit_every_run_and_task_ends_recorded_as_it_was_escaped(
    project, monkeypatch, django_db_blocker
):
    slots = itertools.count()
    with django_db_blocker.unblock(), routed_to(project, monkeypatch) as alias:
        for job in (Emits, Next):
            monkeypatch.setattr(job, "database", alias)  # the job's transaction is on that database

        @PROPERTIES
        @given(HOSTILE)
        @example(FIVE_MB)
        @example("caf\udce9.csv")
        @example("a\x00b")
        def emitted(text: str) -> None:
            monkeypatch.setattr(hostile, "TEXT", text)
            jobs_record(text, BASE + timedelta(minutes=next(slots)))
            tasks_record(text)
            arguments_are_stored_or_refused(text)

        emitted()


@pytest.mark.parametrize("project", ["mysql"], indirect=True)
def test_a_record_the_database_refuses_is_written_again_in_ascii_and_never_left_running(
    project, monkeypatch, django_db_blocker
):
    # An output column in utf8mb3 (tables of older MySQL setups): no room for characters beyond the BMP.
    ((collation,),) = project.query(
        "SELECT collation_name FROM information_schema.columns WHERE table_schema = ? AND table_name = "
        "'cronjobs_run' AND column_name = 'output'",
        (project.server.name,),
    )
    project.query("ALTER TABLE cronjobs_run MODIFY output LONGTEXT CHARACTER SET utf8mb3 NOT NULL")
    try:
        with django_db_blocker.unblock(), routed_to(project, monkeypatch) as alias:
            monkeypatch.setattr(Emits, "database", alias)
            monkeypatch.setattr(hostile, "TEXT", "smile \U0001f600, NUL \x00")
            returned = run_job(Emits, slot=BASE, force=True).run  # refused inside the job's transaction
            raised = run_job(Raises, slot=BASE, force=True).run  # refused after its rollback
    finally:
        charset = collation.split("_")[0]
        project.query(
            f"ALTER TABLE cronjobs_run MODIFY output LONGTEXT CHARACTER SET {charset} COLLATE {collation} NOT NULL"
        )
    assert (returned.status, raised.status) == ("succeeded", "failed")
    note = ' [stored in ASCII and shortened: the database refused the text as it was ((1366, "Incorrect string value'
    assert returned.message.startswith("smile \\U0001f600, NUL \\x00" + note), returned.message
    assert raised.message.startswith("ValueError: smile \\U0001f600, NUL \\x00" + note), raised.message
    for run in (returned, raised):
        assert run.output.startswith("printed smile \\U0001f600, NUL \\x00\nto stderr smile \\U0001f600"), run.output
    assert raised.traceback.endswith("ValueError: smile \\U0001f600, NUL \\x00\n"), raised.traceback


def jobs_record(text: str, slot: datetime) -> None:
    returned = run_job(Emits, slot=slot, force=True).run
    raised = run_job(Raises, slot=slot, force=True).run
    after = run_job(Next, slot=slot, force=True).run
    assert (returned.status, raised.status, after.status) == ("succeeded", "failed", "succeeded")
    assert after.message == "ran"
    # As read back from the database: the text as it was emitted, escaped, cut past its limit.
    assert returned.message == storable(text)
    assert raised.message == storable(f"ValueError: {text}")
    for run in (returned, raised):
        for stored in (run.message, run.traceback, run.output):
            assert unstorable(stored) is None
        assert len(run.message) <= TEXT_LIMIT + len(TEXT_CUT_MARKER) + 10
        assert len(run.traceback) <= TEXT_LIMIT + len(TEXT_CUT_MARKER) + 10
        # Written as UTF-8 (a lone surrogate as its escape), cut in bytes, read back and escaped.
        written = f"printed {text}\nto stderr {text}\nWARNING testapp: logged {text}\n".encode(
            errors="backslashreplace"
        )
        if len(written) <= OUTPUT_LIMIT:
            assert run.output == storable(written.decode(errors="surrogateescape"), None)
        else:
            head, tail = run.output.split(CUT_MARKER.format(count=len(written) - OUTPUT_LIMIT))
            assert head == storable(written[:32_000].decode(errors="surrogateescape"), None)
            assert tail == storable(written[-32_000:].decode(errors="surrogateescape"), None)
    if len(text) < 1000:
        assert raised.traceback.endswith(storable(last_line(text)))
    else:
        assert "characters cut here" in raised.traceback


def tasks_record(text: str) -> None:
    returning = hostile.returns_hostile.enqueue("unused")
    raising = hostile.raises_hostile.enqueue("unused")
    Worker(aliases=["default"]).drain(until=time.monotonic() + 120)
    returned = hostile.returns_hostile.get_result(returning.id)
    raised = hostile.raises_hostile.get_result(raising.id)
    assert (returned.status, raised.status) == (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
    # As JSON gives it back (a surrogate pair is the character it encodes), then escaped.
    assert returned.return_value == storable_json(json.loads(json.dumps(text)))
    (error,) = raised.errors
    assert error.exception_class_path == "builtins.ValueError"
    assert unstorable(error.traceback) is None
    if len(text) < 1000:
        assert error.traceback.endswith(storable(last_line(text)))
    else:
        assert len(error.traceback) <= TEXT_LIMIT + len(TEXT_CUT_MARKER) + 10


def last_line(text: str) -> str:
    """How a traceback of ``ValueError(text)`` ends."""
    return "".join(traceback.format_exception_only(ValueError(text)))


def arguments_are_stored_or_refused(text: str) -> None:
    where = unstorable(text)
    if where is None:
        result = hostile.takes.enqueue({"name": [text]})
        assert hostile.takes.get_result(result.id).args == [{"name": [text]}]
        return
    with pytest.raises(InvalidTaskError) as refused:
        hostile.takes.enqueue({"name": [text]})
    assert f"positional argument 0 cannot be stored: it holds {where} of item 0 of key 'name'" in str(refused.value)
