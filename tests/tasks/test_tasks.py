"""The DatabaseBackend and the worker, in process (SQLite in memory)."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from cronjobs.tasks import task_options
from cronjobs.tasks.models import QueuedTask
from cronjobs.tasks.options import Policy
from cronjobs.tasks.stats import format_counts, queue_counts
from cronjobs.tasks.worker import Worker, prune
from cronjobs.tasks_api import (
    InvalidTaskError,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)
from tests.testapp import tasks
from tests.testapp.models import Effect

pytestmark = pytest.mark.django_db(transaction=True)

Status = QueuedTask.Status


def drain(**kwargs):
    return Worker().drain(**kwargs)


def labels():
    return list(Effect.objects.order_by("id").values_list("job", flat=True))


# -- enqueueing ------------------------------------------------------------------------


def test_enqueue_returns_a_ready_result_that_get_result_finds_again():
    result = tasks.record.enqueue("a")
    assert result.status == TaskResultStatus.READY
    assert result.args == ["a"]
    found = tasks.record.get_result(result.id)
    assert (found.id, found.status, found.args, found.task.func) == (result.id, "READY", ["a"], tasks.record.func)
    assert task_backends["default"].get_result(result.id).enqueued_at == result.enqueued_at


@pytest.mark.parametrize("result_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", ""])
def test_get_result_of_an_unknown_or_malformed_id_raises_does_not_exist(result_id):
    with pytest.raises(TaskResultDoesNotExist):
        task_backends["default"].get_result(result_id)


def test_an_argument_json_cannot_hold_is_refused_at_enqueue_naming_it():
    with pytest.raises(
        InvalidTaskError, match=r"tests.testapp.tasks.record: argument 'label' cannot be stored as JSON"
    ):
        tasks.record.enqueue(label=object())
    with pytest.raises(InvalidTaskError, match=r"positional argument 0 would not come back as it was passed"):
        tasks.record.enqueue({1: "int keys become strings"})
    with pytest.raises(InvalidTaskError, match=r"positional argument 0 cannot be stored as JSON"):
        tasks.record.enqueue(float("nan"))
    assert QueuedTask.objects.count() == 0


def test_a_tuple_is_stored_as_a_list_as_django_does():
    result = tasks.record.enqueue((1, 2))
    assert QueuedTask.objects.get().args == [[1, 2]]
    assert result.args == [[1, 2]]


def test_a_queue_missing_from_QUEUES_is_refused():
    with pytest.raises(InvalidTaskError):
        tasks.record.using(queue_name="nope").enqueue("a")


def test_a_task_enqueued_in_a_rolled_back_transaction_never_runs():
    with transaction.atomic():
        tasks.record.enqueue("rolled back")
        transaction.set_rollback(True)
    assert QueuedTask.objects.count() == 0
    assert drain().ran == 0


def test_enqueue_sends_task_enqueued_and_the_worker_started_and_finished():
    seen = []

    def receiver(signal, sender, task_result, **kwargs):
        seen.append((signal, task_result.status))

    for signal in (task_enqueued, task_started, task_finished):
        signal.connect(receiver, dispatch_uid="test")
    try:
        tasks.record.enqueue("a")
        drain()
    finally:
        for signal in (task_enqueued, task_started, task_finished):
            signal.disconnect(dispatch_uid="test")
    assert seen == [
        (task_enqueued, "READY"),
        (task_started, "RUNNING"),
        (task_finished, "SUCCESSFUL"),
    ]


# -- draining --------------------------------------------------------------------------


def test_ready_tasks_run_by_priority_then_in_order_of_enqueueing():
    tasks.record.using(priority=-1).enqueue("low")
    tasks.record.enqueue("first")
    tasks.record.enqueue("second")
    tasks.record.using(priority=10).enqueue("high")
    tasks.record.using(run_after=timezone.now() + timedelta(minutes=5)).enqueue("later")
    assert drain().succeeded == 4
    assert labels() == ["high", "first", "second", "low"]
    later = QueuedTask.objects.get(status=Status.READY)
    assert later.deferred and later.args == ["later"]


def test_a_result_carries_the_return_value_attempts_and_workers():
    result = tasks.record.enqueue("a")
    drain()
    result.refresh()
    assert (result.status, result.return_value, result.attempts) == ("SUCCESSFUL", "a", 1)
    assert f":{__import__('os').getpid()}:" in result.worker_ids[0]  # host:pid:token
    assert result.started_at <= result.finished_at


def test_a_failed_attempt_is_retried_after_the_backoff_with_its_traceback_kept():
    result = tasks.fails_once.enqueue("flaky")
    before = timezone.now()
    assert (drain().retried, drain().ran) == (1, 0)  # the retry waits RETRY_DELAY (10 s by default)
    after = timezone.now()
    row = QueuedTask.objects.get()
    assert row.status == Status.READY
    # RETRY_DELAY after the attempt failed, which was between ``before`` and ``after``.
    assert before + timedelta(seconds=10) <= row.run_after <= after + timedelta(seconds=10)
    QueuedTask.objects.update(run_after=timezone.now())
    assert drain().succeeded == 1
    result.refresh()
    assert (result.status, result.return_value, result.attempts) == ("SUCCESSFUL", 2, 2)
    assert [e.exception_class for e in result.errors] == [ValueError]
    assert "ValueError: first attempt fails" in result.errors[0].traceback
    assert labels() == ["flaky#2"]  # the failed attempt's write was rolled back


def test_backoff_grows_by_the_factor_up_to_the_cap():
    policy = Policy(
        timeout=timedelta(minutes=1),
        max_attempts=10,
        retry_delay=timedelta(seconds=10),
        backoff=3,
        max_retry_delay=timedelta(minutes=5),
        atomic=True,
    )
    assert [policy.delay(n).total_seconds() for n in range(1, 6)] == [10, 30, 90, 270, 300]


def test_an_always_failing_task_stops_after_max_attempts():
    result = tasks.always_fails.enqueue("doomed")
    drained = drain()
    assert (drained.retried, drained.failed) == (2, 1)
    result.refresh()
    assert (result.status, result.attempts, len(result.errors)) == ("FAILED", 3, 3)
    assert result.finished_at is not None


def test_a_task_that_opts_out_of_atomic_keeps_its_writes_when_it_fails():
    tasks.writes_then_fails.enqueue("kept")
    tasks.always_fails.enqueue("rolled back")
    drain()
    assert labels() == ["kept"]


def test_a_return_value_json_cannot_hold_fails_the_task():
    result = tasks.returns_set.enqueue()
    drain()
    result.refresh()
    assert result.status == "FAILED"
    assert "cannot be stored as JSON" in result.errors[0].traceback


def test_a_task_over_its_timeout_is_stopped_and_the_next_one_runs():
    result = tasks.sleeps.enqueue("slow", 20)
    tasks.record.enqueue("next")
    drained = drain()
    assert (drained.failed, drained.retried, drained.succeeded) == (1, 1, 1)
    result.refresh()
    assert [e.exception_class_path for e in result.errors] == ["cronjobs.tasks.exceptions.TaskTimeout"] * 2
    assert labels() == ["next"]


def test_a_task_whose_function_is_gone_fails_with_the_import_error():
    tasks.record.enqueue("a")
    QueuedTask.objects.update(task_path="tests.testapp.tasks.vanished")
    assert drain().failed == 1
    assert "vanished" in QueuedTask.objects.get().errors[0]["traceback"]


def test_drain_stops_at_its_limit_and_its_deadline():
    for i in range(5):
        tasks.record.enqueue(str(i))
    assert drain(limit=2).ran == 2
    assert drain(until=0).ran == 0
    assert drain().ran == 3


def test_draining_costs_one_write_transaction_a_task(django_assert_num_queries):
    for i in range(3):
        tasks.noop.enqueue(i)
    worker = Worker()
    worker.recover()
    # Once per worker, SQLite's journal mode and synchronous setting; the first claim (a batch
    # of one) on its own: BEGIN, UPDATE ... RETURNING, COMMIT. Then per task one transaction:
    # BEGIN, the outcome, COMMIT; the last task of a batch claims the next one (twice as large)
    # in a savepoint: SAVEPOINT, UPDATE ... RETURNING, RELEASE. The last claim finds the queue empty.
    with django_assert_num_queries(2 + 3 + 3 * 3 + 2 * 3):
        assert worker.drain().succeeded == 3


def test_a_batch_costs_one_statement_a_task_and_one_claim_a_batch(django_assert_num_queries, monkeypatch):
    monkeypatch.setattr("cronjobs.tasks.worker.FAST_TASK", 60.0)  # every task counts as fast here
    for i in range(63):
        tasks.noop.enqueue(i)
    worker = Worker()
    worker.recover()
    # Batches of 1, 2, 4, 8, 16 and 32 (TASKS_BATCH_SIZE): six claims and the empty one.
    with django_assert_num_queries(2 + 3 + 63 * 3 + 6 * 3) as captured:
        assert worker.drain().succeeded == 63
    claims = [q["sql"] for q in captured.captured_queries if "RETURNING" in q["sql"]]
    assert len(claims) == 7
    assert QueuedTask.objects.filter(status=Status.SUCCESSFUL, attempts=1).count() == 63
    # Each attempt's started_at is when it started, not when its batch was claimed.
    rows = list(QueuedTask.objects.order_by("started_at"))
    assert all(a.finished_at <= b.started_at for a, b in pairwise(rows))
    assert all(row.started_at == row.last_attempted_at for row in rows)


@override_settings(CRONJOBS={"TASKS_BATCH_SIZE": 4})
def test_batches_keep_priority_then_run_after_order_exact(monkeypatch):
    monkeypatch.setattr("cronjobs.tasks.worker.FAST_TASK", 60.0)
    expected = []
    for i in range(24):
        priority = (i * 7) % 5 - 2
        tasks.record.using(priority=priority).enqueue(f"{i}")
        expected.append((-priority, i))
    assert drain().succeeded == 24
    assert labels() == [str(i) for _, i in sorted(expected)]


def test_a_dead_workers_batch_loses_the_attempt_of_its_first_task_only():
    for label in ("first", "second", "third"):
        tasks.record.enqueue(label)
    claimed = QueuedTask.objects.claim("dead:1", timezone.now(), ["default"], None, limit=3)
    # Claimed longer ago than the 10 minutes of timeout and 30 s of lease grace:
    QueuedTask.objects.update(last_attempted_at=timezone.now() - timedelta(minutes=20))
    assert [row.args for row in claimed] == [["first"], ["second"], ["third"]]
    assert QueuedTask.objects.filter(status=Status.RUNNING, attempts=1).count() == 3
    assert Worker().recover() == 1
    rows = {row.args[0]: row for row in QueuedTask.objects.all()}
    # The first was running when its worker died: its attempt is used (max_attempts 1: failed).
    assert (rows["first"].status, rows["first"].attempts) == (Status.FAILED, 1)
    assert rows["first"].errors[0]["exception_class_path"] == "cronjobs.tasks.exceptions.WorkerLost"
    # The others never started: back in the queue as they were, in their place.
    for label in ("second", "third"):
        assert (rows[label].status, rows[label].attempts, rows[label].errors) == (Status.READY, 0, [])
        assert rows[label].worker_id == ""
    assert drain().succeeded == 2
    assert labels() == ["second", "third"]


def test_a_batch_whose_first_task_is_within_its_lease_is_left_alone():
    for label in ("first", "second"):
        tasks.record.enqueue(label)
    QueuedTask.objects.claim("alive:1", timezone.now(), ["default"], None, limit=2)
    QueuedTask.objects.filter(args=["second"]).update(last_attempted_at=timezone.now() - timedelta(hours=1))
    assert Worker().recover() == 0
    assert QueuedTask.objects.filter(status=Status.RUNNING).count() == 2


def test_renew_and_release_touch_only_the_workers_own_claims():
    for label in ("mine", "theirs"):
        tasks.record.enqueue(label)
    earlier = timezone.now()
    mine = QueuedTask.objects.claim("me:1", earlier, ["default"], None, limit=1)
    theirs = QueuedTask.objects.claim("them:1", earlier, ["default"], None, limit=1)
    now = timezone.now()
    assert QueuedTask.objects.renew([*mine, *theirs], "me:1", now) == 1
    assert QueuedTask.objects.get(args=["mine"]).last_attempted_at == now
    assert QueuedTask.objects.get(args=["theirs"]).last_attempted_at == earlier
    assert QueuedTask.objects.release([*mine, *theirs], "me:1") == 1
    assert (QueuedTask.objects.get(args=["mine"]).status, QueuedTask.objects.get(args=["mine"]).attempts) == (
        Status.READY,
        0,
    )
    assert QueuedTask.objects.get(args=["theirs"]).status == Status.RUNNING


def test_a_held_batch_is_renewed_as_one_and_given_back_when_the_drain_stops(monkeypatch):
    monkeypatch.setattr("cronjobs.tasks.worker.FAST_TASK", 60.0)
    for i in range(7):
        tasks.record.enqueue(str(i))
    worker = Worker()
    assert worker.drain(limit=3).ran == 3  # batches of 1 and 2
    worker._renew_every = 0.0  # renew before every task
    seen = []
    real = QueuedTask.objects.renew

    def renew(rows, worker_id, now):
        seen.append(len(rows))
        return real(rows, worker_id, now)

    monkeypatch.setattr(QueuedTask.objects, "renew", renew)
    assert worker.drain(limit=2).ran == 2
    assert seen == [2, 1]  # the batch of two claimed by this drain, renewed before each task
    assert QueuedTask.objects.filter(status=Status.RUNNING).count() == 0
    assert drain().ran == 2
    assert QueuedTask.objects.filter(status=Status.SUCCESSFUL, attempts=1).count() == 7


def test_the_claim_walks_the_claim_index_without_sorting():
    from cronjobs.tasks.models import _returning_claim

    sql, params = _returning_claim(connection, "me", timezone.now(), ["default"], None)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " | ".join(row[-1] for row in cursor.fetchall())
    assert "USING INDEX cronjobs_task_claim" in plan
    assert "TEMP B-TREE" not in plan
    # The claimed rows are found by their key, not by scanning every ready row.
    assert "cronjobs_task_finished" not in plan
    assert "sqlite_autoindex_cronjobs_tasks_queuedtask_1 (id=?)" in plan


# -- lost workers, pruning, counts -----------------------------------------------------


def _running(attempts, max_attempts, started_ago):
    tasks.record.enqueue("lost")
    QueuedTask.objects.update(
        status=Status.RUNNING,
        attempts=attempts,
        max_attempts=max_attempts,
        worker_id="elsewhere:1",
        last_attempted_at=timezone.now() - started_ago,
        timeout=60,
    )


def test_a_task_running_past_its_timeout_and_lease_grace_is_retried():
    _running(attempts=1, max_attempts=2, started_ago=timedelta(seconds=95))
    assert Worker().recover() == 1
    row = QueuedTask.objects.get()
    assert (row.status, row.worker_id, row.worker_ids) == (Status.READY, "", ["elsewhere:1"])
    assert row.errors[0]["exception_class_path"] == "cronjobs.tasks.exceptions.WorkerLost"
    assert drain().succeeded == 1


def test_a_lost_task_on_its_last_attempt_fails():
    _running(attempts=2, max_attempts=2, started_ago=timedelta(seconds=95))
    assert Worker().recover() == 1
    assert QueuedTask.objects.get().status == Status.FAILED


def test_a_task_within_its_lease_is_left_alone():
    _running(attempts=1, max_attempts=2, started_ago=timedelta(seconds=80))  # 60 s timeout + 30 s grace
    assert Worker().recover() == 0
    assert QueuedTask.objects.get().status == Status.RUNNING


def test_a_late_outcome_of_a_recovered_attempt_is_not_written():
    tasks.record.enqueue("a")
    worker = Worker()
    row = worker.claim()
    QueuedTask.objects.update(worker_id="someone-else")  # recovered and claimed again meanwhile
    assert worker.run(row) == "lost"
    assert QueuedTask.objects.get().status == Status.RUNNING
    assert not Effect.objects.exists()  # its work was rolled back with the refused outcome


def test_an_insert_sends_each_value_as_the_fields_own_get_db_prep_save_would():
    now = timezone.now()
    row = QueuedTask(
        task_path="tests.testapp.tasks.record", backend="default", queue_name="default", priority=-3,
        args=["a", [1, 2]], kwargs={"n": 1.5}, run_after=now, deferred=True, enqueued_at=now,
        max_attempts=2, timeout=600.0, return_value=None, errors=[],
    )  # fmt: skip
    expected = [f.get_db_prep_save(f.pre_save(row, True), connection) for f in QueuedTask._meta.concrete_fields]
    sent = []

    def capture(execute, sql, params, many, context):
        sent.append(list(params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        QueuedTask.objects.insert(row)
    assert sent == [expected]
    assert QueuedTask.objects.get(pk=row.pk).kwargs == {"n": 1.5}


def test_a_read_only_task_whose_outcome_is_written_after_it_can_be_lost_too(monkeypatch):
    # SQLite in WAL mode with synchronous FULL: a task that wrote nothing has its outcome written
    # after its transaction, as bookkeeping. Taken meanwhile, the attempt is "lost", not an error.
    monkeypatch.setattr(Worker, "_relaxed", lambda self, connection: "sqlite")
    tasks.noop.enqueue(1)
    worker = Worker()
    row = worker.claim()
    QueuedTask.objects.update(worker_id="someone-else")
    assert worker.run(row) == "lost"
    assert QueuedTask.objects.get().status == Status.RUNNING
    tasks.noop.enqueue(2)
    assert worker.drain().succeeded == 1  # the worker goes on


def test_prune_deletes_finished_tasks_older_than_keep():
    for label in ("old", "new", "waiting"):
        tasks.record.enqueue(label)
    drain(limit=2)
    QueuedTask.objects.filter(args=["old"]).update(finished_at=timezone.now() - timedelta(days=8))
    assert prune(timedelta(days=7)) == 1
    assert sorted(row.args[0] for row in QueuedTask.objects.all()) == ["new", "waiting"]


def test_queue_counts_per_queue():
    tasks.record.enqueue("a")
    tasks.record.using(run_after=timezone.now() + timedelta(hours=1)).enqueue("b")
    tasks.record_mail.enqueue("c")
    tasks.always_fails.using(queue_name="mail").enqueue("d")
    Worker(queues=["mail"]).drain()
    assert format_counts(queue_counts()) == [
        "default: 1 ready, 1 scheduled, 0 running, 0 failed, 0 succeeded",
        "mail: 0 ready, 0 scheduled, 0 running, 1 failed, 1 succeeded",
    ]


# -- configuration ---------------------------------------------------------------------


def test_task_options_refuses_bad_values_naming_them():
    with pytest.raises(ValueError, match="task_options: max_attempts is 0"):
        task_options(max_attempts=0)
    with pytest.raises(ValueError, match="task_options: timeout is 5"):
        task_options(timeout=5)


@override_settings(
    TASKS={
        "default": {
            "BACKEND": "cronjobs.tasks.DatabaseBackend",
            "OPTIONS": {"MAX_ATTEMPTS": 0, "TIMEOUT": timedelta(0), "RETRIES": 3},
        }
    },
    CRONJOBS={"TASKS_BUDGET": timedelta(seconds=90)},
)
def test_bad_options_and_settings_are_system_check_errors():
    errors = [e for e in checks.run_checks() if e.id.startswith("cronjobs.E05")]
    assert sorted((e.id, e.msg) for e in errors) == [
        ("cronjobs.E050", "TASKS['default']['OPTIONS']: MAX_ATTEMPTS is 0, not a whole number of at least 1."),
        ("cronjobs.E050", "TASKS['default']['OPTIONS']: TIMEOUT is datetime.timedelta(0), not a positive timedelta."),
        ("cronjobs.E051", "TASKS['default']['OPTIONS'] has an unknown key 'RETRIES'."),
        (
            "cronjobs.E052",
            "CRONJOBS['TASKS_BUDGET'] is datetime.timedelta(seconds=90), not a positive timedelta under 60 seconds.",
        ),
    ]


@override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.EveryMinute"]})
def test_tasks_only_with_job_codes_is_a_usage_error():
    with pytest.raises(CommandError, match="--tasks-only runs no jobs") as raised:
        call_command("runcrons", "test.every_minute", "--tasks-only")
    assert raised.value.returncode == 2


@override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": ["tests.testapp.jobs.HandedOff"]})
def test_a_job_with_a_task_backend_hands_its_slot_to_a_task(capsys):
    from cronjobs.models import Job, Run

    call_command("runcrons", "--force", "-v0")  # claims the slot, enqueues; the same invocation drains
    run = Run.objects.get(job_id="test.handed_off")
    assert run.status == Run.Status.SUCCEEDED  # followed to its task's result in the same invocation
    assert (run.task_backend, run.task_id) == ("default", str(QueuedTask.objects.get().pk))
    assert run.message.startswith("ran for ")
    row = QueuedTask.objects.get()
    assert (row.status, row.task_path) == (Status.SUCCESSFUL, "cronjobs.engine.handoff.run_cron_job")
    assert row.return_value.startswith("ran for ")
    assert Effect.objects.get().job == "test.handed_off"
    assert Job.objects.filter(code="test.handed_off").exists()


def test_the_admin_lists_tasks_with_counts_per_queue_and_queues_failed_ones_again(admin_client):
    tasks.always_fails.enqueue("doomed")
    tasks.record_mail.enqueue("waiting")
    Worker(queues=["default"]).drain()
    page = admin_client.get("/admin/cronjobs_tasks/queuedtask/")
    assert page.status_code == 200
    assert [(c.queue_name, c.ready, c.failed) for c in page.context["queue_counts"]] == [
        ("default", 0, 1),
        ("mail", 1, 0),
    ]
    failed = QueuedTask.objects.get(status=Status.FAILED)
    admin_client.post(
        "/admin/cronjobs_tasks/queuedtask/", {"action": "retry_now", "_selected_action": [str(failed.pk)]}
    )
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.max_attempts) == (Status.READY, 3, 4)


@pytest.mark.parametrize("value", [0, 1001, "32", True, 2.5])
def test_a_bad_batch_size_is_a_system_check_error(value):
    with override_settings(CRONJOBS={"TASKS_BATCH_SIZE": value}):
        errors = [e for e in checks.run_checks() if e.id == "cronjobs.E180"]
    assert [e.msg for e in errors] == [f"CRONJOBS['TASKS_BATCH_SIZE'] is {value!r}, not a whole number from 1 to 1000."]


@override_settings(CRONJOBS={"TASKS_BATCH_SIZE": 1})
def test_a_batch_size_of_one_claims_one_task_at_a_time(monkeypatch):
    monkeypatch.setattr("cronjobs.tasks.worker.FAST_TASK", 60.0)
    for i in range(3):
        tasks.noop.enqueue(i)
    sizes = []
    real = QueuedTask.objects.claim

    def claim(*args, **kwargs):
        rows = real(*args, **kwargs)
        sizes.append(len(rows))
        return rows

    monkeypatch.setattr(QueuedTask.objects, "claim", claim)
    assert drain().succeeded == 3
    assert sizes == [1, 1, 1, 0]


def test_an_enqueue_is_one_insert_stored_as_the_orm_would(django_assert_num_queries):
    later = timezone.now() + timedelta(hours=1)
    with django_assert_num_queries(1):
        result = tasks.record.using(priority=3, run_after=later).enqueue("a", extra={"k": [1, None]})
    row = QueuedTask.objects.get(pk=result.id)
    assert (row.task_path, row.backend, row.queue_name, row.priority) == (
        "tests.testapp.tasks.record",
        "default",
        "default",
        3,
    )
    assert (row.args, row.kwargs, row.run_after, row.deferred) == (["a"], {"extra": {"k": [1, None]}}, later, True)
    assert (row.status, row.attempts, row.max_attempts, row.worker_ids, row.errors) == (Status.READY, 0, 1, [], [])
    assert row.return_value is None and row.started_at is None
    assert row.timeout == 600.0


def test_a_task_that_fails_for_good_is_logged_with_its_traceback_not_nonetype_none(caplog):
    import logging

    tasks.always_fails.enqueue("doomed")
    with caplog.at_level(logging.INFO):
        Worker(queues=["default"]).drain()
    logged = [r for r in caplog.records if r.exc_info is not None and r.getMessage().endswith("state=FAILED")]
    assert len(logged) == 1
    text = logging.Formatter().format(logged[0])
    assert "NoneType: None" not in text
    assert "Traceback (most recent call last)" in text


def test_a_drain_that_runs_out_of_its_budget_says_so_not_interrupted(caplog):
    tasks.naps.enqueue("first", 4)
    tasks.record.enqueue("second")
    import time

    with caplog.at_level("INFO", logger="cronjobs"):
        # The budget is over while the first sleeps; the second is claimed with the first's
        # outcome (the budget was not over when the first started: claiming one task takes ms).
        drained = drain(until=time.monotonic() + 2)
    assert drained.succeeded == 1
    second = QueuedTask.objects.get(args=["second"])
    assert (second.status, second.attempts) == (Status.READY, 0)
    released = [r for r in caplog.records if "back in the queue" in r.getMessage()]
    assert [(r.levelname, r.getMessage()) for r in released] == [
        ("INFO", f"task {second.pk}: not started: the drain ran out of its budget, back in the queue")
    ]


def test_retry_now_makes_a_task_waiting_for_its_retry_ready_now_and_says_what_it_did(admin_client):
    tasks.fails_once.enqueue("flaky")
    tasks.record_mail.enqueue("waiting")  # ready already: nothing to retry
    assert drain().retried == 1
    waiting = QueuedTask.objects.get(status=Status.READY, attempts=1)
    ready = QueuedTask.objects.get(queue_name="mail")
    assert waiting.run_after > timezone.now()
    response = admin_client.post(
        "/admin/cronjobs_tasks/queuedtask/",
        {"action": "retry_now", "_selected_action": [str(waiting.pk), str(ready.pk)]},
        follow=True,
    )
    (message,) = response.context["messages"]
    assert (message.level_tag, str(message)) == (
        "success",
        "1 task(s) waiting for their retry made ready now; "
        "1 left alone (ready, running or successful: nothing to retry).",
    )
    waiting.refresh_from_db()
    assert waiting.run_after <= timezone.now() and (waiting.status, waiting.attempts) == (Status.READY, 1)
    assert drain().succeeded >= 1


def test_retry_now_with_nothing_to_retry_is_a_warning(admin_client):
    tasks.record_mail.enqueue("waiting")
    ready = QueuedTask.objects.get()
    response = admin_client.post(
        "/admin/cronjobs_tasks/queuedtask/", {"action": "retry_now", "_selected_action": [str(ready.pk)]}, follow=True
    )
    (message,) = response.context["messages"]
    assert (message.level_tag, str(message)) == (
        "warning",
        "1 left alone (ready, running or successful: nothing to retry).",
    )


def test_a_tasks_errors_read_as_tracebacks_on_its_page_not_as_json(admin_client):
    tasks.always_fails.enqueue("doomed")
    Worker(queues=["default"]).drain()
    failed = QueuedTask.objects.get(status=Status.FAILED)
    page = admin_client.get(f"/admin/cronjobs_tasks/queuedtask/{failed.pk}/change/").content.decode()
    assert '<div class="cronjobs-task-error-entry"><strong>1. ' in page
    assert "Traceback (most recent call last):\n" in page  # real line breaks, in a <pre>
    assert "\\n" not in page.split('class="cronjobs-task-error-entry"', 1)[1].split("</pre>", 1)[0]
    assert "exception_class_path" not in page
