"""Output capture: stdout, stderr and logging go into the run record, bounded, with the cut marked."""

from __future__ import annotations

import logging
import os
import sys

import pytest

from cronjobs.engine.output import Output, output_file, read_bounded


def written(data: bytes) -> int:
    fd = output_file()
    os.write(fd, data)
    return fd


def test_short_output_is_kept_whole():
    fd = written(b"hello\nworld\n")
    assert read_bounded(fd, 100) == "hello\nworld\n"
    os.close(fd)


def test_long_output_keeps_head_and_tail_and_says_where_it_was_cut():
    fd = written(b"".join(f"{i:04d}\n".encode() for i in range(1000)))
    value = read_bounded(fd, 20)
    os.close(fd)
    assert value.startswith("0000\n0001\n")
    assert value.endswith("0998\n0999\n")
    assert "[... 4980 bytes cut here by CRONJOBS['OUTPUT_LIMIT'] ...]" in value
    assert len(value.replace(value[10:-10], "")) == 20


def test_only_the_kept_bytes_are_read_whatever_was_written():
    fd = written(b"x" * 10_000_000)
    assert len(read_bounded(fd, 1000)) < 1100
    os.close(fd)


def test_bytes_that_are_not_utf8_are_kept():
    fd = written(b"caf\xe9\n")
    assert read_bounded(fd, 100) == "caf\udce9\n"  # stored escaped
    os.close(fd)


def test_a_limit_of_zero_stores_only_the_marker():
    fd = written(b"abc")
    assert read_bounded(fd, 0) == "\n[... 3 bytes cut here by CRONJOBS['OUTPUT_LIMIT'] ...]\n"
    os.close(fd)


def test_inline_capture_takes_stdout_stderr_fds_and_log_records_and_restores_them():
    before = (sys.stdout, sys.stderr, list(logging.getLogger().handlers))
    with Output(10_000, inline=True) as captured:
        print("to stdout")  # noqa: T201  (captured: that is the point)
        print("to stderr", file=sys.stderr)  # noqa: T201  (captured: that is the point)
        os.write(1, b"to fd 1\n")
        logging.getLogger("myapp").warning("a warning from %s", "myapp")
    assert captured.getvalue() == "to stdout\nto stderr\nto fd 1\nWARNING myapp: a warning from myapp\n"
    assert (sys.stdout, sys.stderr, list(logging.getLogger().handlers)) == before


def test_inline_capture_is_undone_when_the_job_raises():
    before = (sys.stdout, sys.stderr)
    captured = Output(100, inline=True)
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
