"""Task functions the tests enqueue on the DatabaseBackend."""

import os
import time
from datetime import timedelta

from cronjobs.tasks import task_options
from django_tasks import task
from tests.testapp.models import Effect


@task
def noop(i):
    return None


@task
def record(label):
    """One Effect row per run: counting them proves how often the task ran."""
    Effect.objects.create(job=label, pid=os.getpid())
    return label


@task(queue_name="mail")
def record_mail(label):
    Effect.objects.create(job=label, pid=os.getpid())


@task(takes_context=True)
def record_attempt(context, label):
    Effect.objects.create(job=f"{label}#{context.attempt}", pid=os.getpid())


@task
@task_options(timeout=timedelta(seconds=1), max_attempts=2, retry_delay=timedelta(0))
def sleeps(label, seconds):
    """Writes a row, then sleeps: long enough to be killed, or to run past the timeout."""
    Effect.objects.create(job=label, pid=os.getpid())
    time.sleep(seconds)
    return "woke up"


@task
@task_options(max_attempts=3, retry_delay=timedelta(0))
def always_fails(label):
    Effect.objects.create(job=label, pid=os.getpid())
    raise RuntimeError(f"boom: {label}")


@task
@task_options(atomic=False, max_attempts=1)
def writes_then_fails(label):
    Effect.objects.create(job=label, pid=os.getpid())
    raise RuntimeError("after the write")


@task
def returns_set():
    return {1, 2}
