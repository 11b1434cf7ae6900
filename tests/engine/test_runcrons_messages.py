"""What runcrons says: jobs seen for the first time and when they first run, forced runs,
and a dry run with nothing due."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings
from django.utils import timezone

from cronjobs.models import Job

pytestmark = pytest.mark.django_db
JOBS = {"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.Hourly", "tests.testapp.jobs.FiveMinutes"]}


def runcrons(*args: str) -> list[str]:
    out = io.StringIO()
    with override_settings(CRONJOBS=JOBS):
        call_command("runcrons", *args, stdout=out)
    # Not a terminal: each line starts with its time; the rest is what a person reads.
    return [line.split(" ", 3)[3] for line in out.getvalue().splitlines()]


def test_the_first_runcrons_says_what_it_registered_and_when_each_first_runs():
    lines = runcrons()
    assert [line.split(":")[0] for line in lines] == ["test.hourly", "test.five_minutes"]
    assert lines[0].startswith("test.hourly: registered (At the start of every hour (UTC)); first run ")
    # "in 6 s" in the last minute of an hour, "in 59 min" in its first, "in 1 h" on the hour.
    assert re.search(r"first run \d{4}-\d\d-\d\d \d\d:00:00 UTC, in \d+ (h|min|s)$", lines[0]), lines[0]
    assert lines[1].startswith("test.five_minutes: registered (Every 5 minutes); first run ")
    assert runcrons() == []  # only once


def test_forced_runs_are_marked_as_such():
    lines = runcrons("--force")
    assert [line for line in lines if "succeeded" in line] == [
        line for line in lines if re.fullmatch(r"test\.\w+: succeeded in \d+\.\d\ds \(forced\)", line)
    ]
    assert len([line for line in lines if "succeeded" in line]) == 2


def test_a_dry_run_with_nothing_due_says_so_and_names_the_next_run():
    runcrons()
    Job.objects.filter(code="test.hourly").update(next_slot=timezone.now() + timedelta(minutes=1))
    Job.objects.filter(code="test.five_minutes").update(next_slot=timezone.now() + timedelta(minutes=3))
    (line,) = runcrons("--dry-run")
    assert re.fullmatch(r"nothing due; next: test\.hourly at .+ UTC, in (1 min|\d+ s)", line), line


def test_a_dry_run_on_first_sight_says_the_jobs_would_be_registered():
    lines = runcrons("--dry-run")
    assert lines[0].startswith("test.hourly: would be registered (")
    assert lines[2].startswith("nothing due; next: test.five_minutes at ")
    assert not Job.objects.exists()


class _Watching(io.StringIO):
    """stdout that notes, for each job line, which runs were recorded as finished when it was written."""

    def __init__(self) -> None:
        super().__init__()
        self.finished_then: dict[str, set[str]] = {}

    def write(self, text: str) -> int:
        from cronjobs.models import Run

        code = text.split(" ", 3)[-1].split(":")[0]
        if " succeeded in " in text or " failed in " in text:
            self.finished_then[code] = set(
                Run.objects.filter(finished_at__isnull=False).values_list("job_id", flat=True)
            )
        return super().write(text)


def test_each_job_line_is_written_when_that_job_ends_not_when_the_invocation_does():
    out = _Watching()
    with override_settings(CRONJOBS=JOBS):
        call_command("runcrons", "--force", stdout=out)
    # The first job's line went out before the second job had finished: stamped with its own time.
    assert out.finished_then == {
        "test.hourly": {"test.hourly"},
        "test.five_minutes": {"test.hourly", "test.five_minutes"},
    }
    assert len(re.findall(r" (succeeded|failed) in ", out.getvalue())) == 2  # each once


def test_a_failed_run_is_written_at_once_and_the_summary_still_counts_it():
    out = _Watching()
    jobs = {"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.WritesThenFails", "tests.testapp.jobs.Hourly"]}
    with override_settings(CRONJOBS=jobs), pytest.raises(CommandError, match="1 of 2 run"):
        call_command("runcrons", "--force", stdout=out)
    assert out.finished_then == {"test.fails": {"test.fails"}, "test.hourly": {"test.fails", "test.hourly"}}
    assert len(re.findall(r" (succeeded|failed) in ", out.getvalue())) == 2


def test_a_timed_out_run_reads_timed_out_as_list_says_it():
    out = io.StringIO()
    jobs = {"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.LongSleep"]}
    with override_settings(CRONJOBS=jobs), pytest.raises(CommandError):
        call_command("runcrons", "--force", stdout=out)
    lines = [line.split(" ", 3)[3] for line in out.getvalue().splitlines() if "registered" not in line]
    assert len(lines) == 1 and re.fullmatch(
        r"test\.long_sleep: timed out in \d+\.\d\ds \(forced\): stopped after 0:00:01", lines[0]
    ), lines
