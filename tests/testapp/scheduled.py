"""Functions and tasks on a schedule with ``@cron(...)``, selected per test as the job classes of
jobs.py are (CRONJOBS["JOBS"] or CRONJOBS_TEST_JOBS, by dotted path)."""

import os
from datetime import timedelta

from asgiref.sync import sync_to_async

from cronjobs import cron
from cronjobs.tasks_api import task
from tests.testapp.models import Effect


@cron("* * * * *", code="test.function")
def writes_a_row():
    """One Effect row per run: counting them proves how often the function ran."""
    Effect.objects.create(job="test.function", pid=os.getpid())
    return "wrote one row"


@cron("* * * * *", code="test.function_fails", retries=1, retry_delay=timedelta(0))
def writes_then_fails():
    Effect.objects.create(job="test.function_fails", pid=os.getpid())
    raise RuntimeError("boom after the write")


@cron(interval=timedelta(minutes=5))
async def writes_a_row_async():
    await sync_to_async(Effect.objects.create)(job="test.function_async", pid=os.getpid())
    return "wrote one row, awaited"


@cron("* * * * *", code="test.task")
@task
def enqueued():
    """One Effect row per run of the task."""
    Effect.objects.create(job="test.task", pid=os.getpid())
    return "ran as a task"


@cron("* * * * *", code="test.task_fails")
@task
def enqueued_and_fails():
    raise ValueError("the task's work failed")


@cron("*/61 * * * *")
def bad_expression():
    pass


@task
@cron("* * * * *")
def task_over_cron():
    """The wrong order: cronjobs.E125."""
