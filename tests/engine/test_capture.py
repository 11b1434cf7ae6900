"""Output capture: stdout, stderr and logging go into the run record, bounded, with the cut marked."""

from __future__ import annotations

import logging
import sys

import pytest

from cronjobs.engine.capture import BoundedText, Capture


def test_short_output_is_kept_whole():
    text = BoundedText(100)
    text.write("hello\n")
    text.write("world\n")
    assert text.getvalue() == "hello\nworld\n"
    assert text.dropped == 0


def test_long_output_keeps_head_and_tail_and_says_where_it_was_cut():
    text = BoundedText(20)
    for i in range(1000):
        text.write(f"{i:04d}\n")
    value = text.getvalue()
    assert value.startswith("0000\n0001\n")
    assert value.endswith("0998\n0999\n")
    assert "[... 4980 characters cut here by CRONJOBS['OUTPUT_LIMIT'] ...]" in value
    assert text.dropped == 5000 - 20
    assert len(value.replace(value[10:-10], "")) == 20


def test_memory_stays_bounded_whatever_is_written():
    text = BoundedText(1000)
    for _ in range(10_000):
        text.write("x" * 997)
    assert text._head_size + text._tail_size == 1000
    assert len(text._tail) <= 3


def test_a_limit_of_zero_stores_only_the_marker():
    text = BoundedText(0)
    text.write("abc")
    assert text.getvalue() == "\n[... 3 characters cut here by CRONJOBS['OUTPUT_LIMIT'] ...]\n"


def test_capture_takes_stdout_stderr_and_log_records_and_restores_them():
    before = (sys.stdout, sys.stderr, list(logging.getLogger().handlers))
    with Capture(10_000) as captured:
        print("to stdout")  # noqa: T201  (captured: that is the point)
        print("to stderr", file=sys.stderr)  # noqa: T201  (captured: that is the point)
        logging.getLogger("myapp").warning("a warning from %s", "myapp")
    assert captured.getvalue() == "to stdout\nto stderr\nWARNING myapp: a warning from myapp\n"
    assert (sys.stdout, sys.stderr, list(logging.getLogger().handlers)) == before


def test_capture_is_undone_when_the_job_raises():
    before = (sys.stdout, sys.stderr)
    captured = Capture(100)
    try:
        with captured:
            print("before the error")  # noqa: T201  (captured: that is the point)
            raise ValueError("boom")
    except ValueError:
        pass
    assert (sys.stdout, sys.stderr) == before
    assert captured.getvalue() == "before the error\n"


@pytest.mark.processes
def test_runcrons_stores_what_a_job_prints_in_its_run_and_prints_none_of_it(project):
    result = project.manage("runcrons", "--force", jobs="Chatty", env={"CRONJOBS_TEST_LINES": "2"})
    assert result.returncode == 0, result.stderr
    assert "line" not in result.stdout + result.stderr
    (output,) = project.query("SELECT output FROM cronjobs_run WHERE job_code = 'test.chatty'")[0]
    assert output == (
        "stdout line 0\nstderr line 0\nWARNING testapp: log line 0\n"
        "stdout line 1\nstderr line 1\nWARNING testapp: log line 1\n"
    )
