"""Task functions the tests enqueue on the DatabaseBackend."""

import os
import time
from datetime import timedelta

from cronjobs.tasks import task_options
from cronjobs.tasks_api import task
from tests.testapp.jobs import freeze_the_host
from tests.testapp.models import Effect, run_slow_query


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
@task_options(timeout=timedelta(minutes=1))
def naps(label, seconds):
    """Sleeps, well within its timeout: a task that takes a while and succeeds."""
    time.sleep(seconds)
    return label


@task
@task_options(timeout=timedelta(seconds=1), max_attempts=2, retry_delay=timedelta(0))
def sleeps(label, seconds):
    """Writes a row, then sleeps: long enough to be killed, or to run past the timeout."""
    Effect.objects.create(job=label, pid=os.getpid())
    time.sleep(seconds)
    return "woke up"


@task(takes_context=True)
@task_options(timeout=timedelta(seconds=3), max_attempts=2, retry_delay=timedelta(0), atomic=False)
def hangs_on_first_attempt(context, label):
    """The first attempt writes a row (committed at once: not atomic) and hangs until killed."""
    Effect.objects.create(job=f"{label}#{context.attempt}", pid=os.getpid())
    if context.attempt == 1:
        time.sleep(60)
    return context.attempt


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


@task(takes_context=True)
@task_options(max_attempts=2)
def fails_once(context, label):
    """Fails its first attempt, succeeds on the second (after the backend's RETRY_DELAY)."""
    Effect.objects.create(job=f"{label}#{context.attempt}", pid=os.getpid())
    if context.attempt == 1:
        raise ValueError("first attempt fails")
    return context.attempt


@task
def record_after(label, seconds):
    """Waits, then writes its row: a SIGTERM often lands in the wait, with the task's transaction open."""
    time.sleep(seconds)
    Effect.objects.create(job=label, pid=os.getpid())
    return label


@task
@task_options(timeout=timedelta(seconds=1), max_attempts=1)
def slow_query(label):
    """Writes a row, then runs a query that takes a minute on each vendor (SQLite: an endless CTE)."""
    Effect.objects.create(job=label, pid=os.getpid())
    run_slow_query()


@task
async def record_async(label):
    """A coroutine task: Django's Task.call() runs it, its ORM call in the worker's own thread."""
    await Effect.objects.acreate(job=label, pid=os.getpid())
    return label


@task(takes_context=True)
def describe_context(context):
    """What the worker passed as the context: the framework's TaskContext, with its result."""
    from cronjobs.tasks_api import TaskContext

    return {
        "is_task_context": isinstance(context, TaskContext),
        "result_id": context.task_result.id,
        "attempt": context.attempt,
    }


@task
def record_then_sigterm_in_next_begin(label):
    """Writes its row; the next task's transaction then opens with SIGTERM in the driver (MySQL/MariaDB)."""
    from tests.testapp.interrupts import sigterm_in_next_begin

    Effect.objects.create(job=label, pid=os.getpid())
    sigterm_in_next_begin()
    return label


@task(takes_context=True)
@task_options(timeout=timedelta(seconds=1), max_attempts=2, retry_delay=timedelta(0))
def freezes_before_commit(context, label):
    """Writes a row; on its first attempt its worker then stops itself (SIGSTOP) right after the
    attempt's outcome is written in the task's transaction, before the COMMIT."""

    from django.db import connection

    from cronjobs.tasks.models import QueuedTaskQuerySet

    Effect.objects.create(job=f"{label}#{context.attempt}", pid=os.getpid())
    if context.attempt > 1:
        return context.attempt
    original = QueuedTaskQuerySet.finish

    def finish(queryset, row, worker_id, **kwargs):
        written = original(queryset, row, worker_id, **kwargs)
        if connection.in_atomic_block:  # the outcome written with the task's work
            QueuedTaskQuerySet.finish = original
            freeze_the_host()  # runcrons and its work horse: a paused VM
        return written

    QueuedTaskQuerySet.finish = finish
    return context.attempt


@task
@task_options(timeout=timedelta(seconds=2), max_attempts=2, retry_delay=timedelta(0))
def stuck_in_c(label):
    """Writes a row, then stays 600 s in one C call that keeps the GIL: past its 2 s timeout."""
    from tests.testapp.jobs import hold_the_gil

    Effect.objects.create(job=label, pid=os.getpid())
    hold_the_gil(600)
