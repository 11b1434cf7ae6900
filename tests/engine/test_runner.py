"""The runner in-process: what is due, claims, catchup, retries, atomic runs, records."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from cronjobs import BaseCronJob, registry
from cronjobs.engine.outcomes import Intent
from cronjobs.engine.runner import Runner
from cronjobs.models import Job, Run
from tests.testapp.models import Effect

UTC = timezone.utc
T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
JOBS = "tests.testapp.jobs"


def jobs(*names: str, **extra):
    return override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": [f"{JOBS}.{n}" for n in names], **extra})


def run_at(moment: datetime, **kwargs):
    return Runner(registry.get_jobs(), now=moment, **kwargs).run()


def statuses(code: str) -> list[tuple[int, str]]:
    return list(Run.objects.filter(job_id=code).order_by("slot", "attempt").values_list("attempt", "status"))


class RetriesNoDelay(BaseCronJob):
    schedule = "* * * * *"
    code = "test.retries_no_delay"
    retries = 2
    retry_delay = timedelta(0)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot)
        raise ValueError(f"attempt {self.attempt} failed")


class RetriesLater(RetriesNoDelay):
    code = "test.retries_later"
    retries = 1
    retry_delay = timedelta(minutes=2)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot)
        if self.attempt == 1:
            raise ValueError("first attempt fails")
        return f"attempt {self.attempt} worked"


class CatchupAll(BaseCronJob):
    schedule = "*/10 * * * *"
    code = "test.catchup_all"
    catchup = "all"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot)


class CatchupNone(CatchupAll):
    schedule = "0 * * * *"
    code = "test.catchup_none"
    catchup = "none"


class Interrupts(BaseCronJob):
    schedule = "* * * * *"
    code = "test.interrupts"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot)
        raise KeyboardInterrupt


HERE = "tests.engine.test_runner"


def here(*names: str):
    return override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": [f"{HERE}.{n}" for n in names]})


pytestmark = pytest.mark.django_db


@jobs("EveryMinute")
def test_a_new_job_starts_when_first_seen_not_from_the_epoch():
    assert run_at(T0 + timedelta(seconds=30)) == []
    state = Job.objects.get()
    assert state.first_seen == state.watermark == T0 + timedelta(seconds=30)
    assert state.next_slot == T0 + timedelta(minutes=1)
    assert Run.objects.count() == 0


@jobs("EveryMinute")
def test_a_due_slot_runs_once_and_is_recorded():
    run_at(T0)
    outcomes = run_at(T0 + timedelta(minutes=1, seconds=3))
    assert [(o.code, o.slot, o.status, o.message) for o in outcomes] == [
        ("test.every_minute", T0 + timedelta(minutes=1), "succeeded", "wrote one row")
    ]
    assert run_at(T0 + timedelta(minutes=1, seconds=40)) == []
    run = Run.objects.get()
    assert (run.status, run.attempt, run.message, run.pid) == (
        "succeeded",
        1,
        "wrote one row",
        __import__("os").getpid(),
    )
    assert run.started_at and run.finished_at and run.duration is not None and run.hostname
    assert Effect.objects.count() == 1
    assert Job.objects.get().watermark == T0 + timedelta(minutes=1)


@jobs("WritesThenFails", "EveryMinute")
def test_a_failing_job_rolls_back_its_writes_keeps_its_traceback_and_does_not_stop_others():
    run_at(T0)
    outcomes = run_at(T0 + timedelta(minutes=1))
    assert {o.code: o.status for o in outcomes} == {"test.fails": "failed", "test.every_minute": "succeeded"}
    assert Effect.objects.filter(job="test.fails").count() == 0
    assert Effect.objects.filter(job="test.every_minute").count() == 1
    failed = Run.objects.get(job_id="test.fails")
    assert failed.message == "RuntimeError: boom after two writes"
    assert "Traceback (most recent call last)" in failed.traceback and "boom after two writes" in failed.traceback


@jobs("NotAtomicFails")
def test_a_job_with_atomic_false_keeps_what_it_wrote_before_failing():
    run_at(T0)
    run_at(T0 + timedelta(minutes=1))
    assert Effect.objects.count() == 2
    assert statuses("test.not_atomic_fails") == [(1, "failed")]


@jobs("EveryMinute")
def test_catchup_latest_runs_the_newest_slot_and_records_the_others_as_missed():
    run_at(T0)
    run_at(T0 + timedelta(minutes=4, seconds=1))
    runs = list(Run.objects.order_by("slot").values_list("slot", "status"))
    assert runs == [
        (T0 + timedelta(minutes=1), "missed"),
        (T0 + timedelta(minutes=2), "missed"),
        (T0 + timedelta(minutes=3), "missed"),
        (T0 + timedelta(minutes=4), "succeeded"),
    ]


@here("CatchupAll")
def test_catchup_all_runs_every_missed_slot_in_order():
    run_at(T0)
    outcomes = run_at(T0 + timedelta(minutes=35))
    assert [o.slot.minute for o in outcomes] == [10, 20, 30]
    assert list(Effect.objects.order_by("id").values_list("slot", flat=True)) == [o.slot for o in outcomes]


@here("CatchupNone")
def test_catchup_none_waits_for_the_next_slot_after_an_outage():
    run_at(T0)
    run_at(T0 + timedelta(hours=2, minutes=30))
    assert Effect.objects.count() == 0
    assert statuses("test.catchup_none") == [(1, "missed"), (1, "missed")]
    outcomes = run_at(T0 + timedelta(hours=3, seconds=5))
    assert [o.status for o in outcomes] == ["succeeded"]


@jobs("EveryMinute", MAX_CATCHUP=5)
def test_a_long_outage_records_a_bounded_number_of_missed_slots():
    run_at(T0)
    run_at(T0 + timedelta(days=30))
    assert Run.objects.filter(status="missed").count() == 4
    assert Run.objects.filter(status="succeeded").count() == 1
    oldest = Run.objects.filter(status="missed").order_by("slot").first()
    assert "earlier slots since" in oldest.message


@jobs("EveryMinute")
def test_pruning_history_never_reopens_a_slot():
    run_at(T0)
    run_at(T0 + timedelta(minutes=1))
    Run.objects.all().delete()
    assert run_at(T0 + timedelta(minutes=1, seconds=30)) == []
    assert Effect.objects.count() == 1


@here("RetriesNoDelay")
def test_retries_without_delay_run_as_new_attempts_at_once():
    run_at(T0)
    outcomes = run_at(T0 + timedelta(minutes=1))
    assert [(o.attempt, o.status, o.message) for o in outcomes] == [
        (1, "failed", "ValueError: attempt 1 failed"),
        (2, "failed", "ValueError: attempt 2 failed"),
        (3, "failed", "ValueError: attempt 3 failed"),
    ]
    assert Effect.objects.count() == 0  # every attempt rolled back


@here("RetriesLater")
def test_retries_with_a_delay_become_due_later():
    run_at(T0)
    assert [o.status for o in run_at(T0 + timedelta(minutes=1))] == ["failed"]
    state = Job.objects.get()
    assert state.retry_attempt == 2 and state.retry_slot == T0 + timedelta(minutes=1)
    assert state.retry_at is not None
    outcomes = run_at(state.retry_at + timedelta(seconds=1))
    retry = [o for o in outcomes if o.attempt == 2]
    assert [(o.slot, o.status, o.message) for o in retry] == [
        (T0 + timedelta(minutes=1), "succeeded", "attempt 2 worked")
    ]
    # The regular 12:03 slot also came due, failed its first attempt and set its own retry.
    assert Job.objects.get().retry_slot == T0 + timedelta(minutes=3)
    assert statuses("test.retries_later") == [(1, "failed"), (2, "succeeded"), (1, "missed"), (1, "failed")]


@jobs("Hourly")
def test_force_runs_a_job_that_is_not_due_and_records_it():
    run_at(T0)
    outcomes = run_at(T0 + timedelta(minutes=5), force=True)
    assert [(o.status, o.slot) for o in outcomes] == [("succeeded", T0 + timedelta(minutes=5))]
    assert Run.objects.get().forced is True
    assert Job.objects.get().watermark == T0  # the regular 13:00 slot still runs


@jobs("EveryMinute")
def test_a_paused_job_does_not_run():
    run_at(T0)
    Job.objects.update(paused=True)
    assert run_at(T0 + timedelta(minutes=3)) == []


@jobs("EveryMinute")
def test_a_preview_says_what_would_run_and_changes_nothing():
    [forced] = Runner(registry.get_jobs(), now=T0, force=True).preview()
    assert (forced.code, forced.slot, forced.intent, forced.reason) == ("test.every_minute", T0, Intent.RUN, "forced")
    assert Job.objects.count() == 0 and Run.objects.count() == 0
    run_at(T0)
    later = Runner(registry.get_jobs(), now=T0 + timedelta(minutes=3)).preview()
    assert [(p.slot, p.intent) for p in later] == [
        (T0 + timedelta(minutes=1), Intent.MISS),
        (T0 + timedelta(minutes=2), Intent.MISS),
        (T0 + timedelta(minutes=3), Intent.RUN),
    ]
    assert Run.objects.count() == 0


@jobs("FiveMinutes")
def test_a_changed_schedule_takes_effect_from_the_watermark():
    run_at(T0)
    Job.objects.update(schedule_key="interval:3600", next_slot=T0 + timedelta(hours=1))
    outcomes = run_at(T0 + timedelta(minutes=5))
    assert [o.slot for o in outcomes] == [T0 + timedelta(minutes=5)]


@here("Interrupts")
def test_an_interrupted_job_is_rolled_back_recorded_and_stops_the_runner():
    run_at(T0)
    with pytest.raises(KeyboardInterrupt):
        run_at(T0 + timedelta(minutes=1))
    assert Effect.objects.count() == 0
    assert statuses("test.interrupts") == [(1, "interrupted")]


@jobs("Clear")
def test_a_command_job_runs_its_management_command():
    outcomes = run_at(T0, force=True)
    assert [o.status for o in outcomes] == ["succeeded"]


@pytest.mark.parametrize("count", [1, 60])
def test_nothing_due_costs_one_query_whatever_the_number_of_jobs(count):
    classes = {
        f"test.gen{i}": type(f"Gen{i}", (BaseCronJob,), {"schedule": "0 3 * * *", "code": f"test.gen{i}"})
        for i in range(count)
    }
    Runner(classes, now=T0).run()
    with CaptureQueriesContext(connection) as queries:
        assert Runner(classes, now=T0 + timedelta(minutes=5)).run() == []
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_a_due_job_costs_two_commits_and_eight_statements():
    def due_pass(count):
        classes = {
            f"test.due{count}_{i}": type(
                f"Due{i}",
                (BaseCronJob,),
                {"schedule": "* * * * *", "code": f"test.due{count}_{i}", "run": lambda self: None},
            )
            for i in range(count)
        }
        Runner(classes, now=T0).run()  # first seen
        with CaptureQueriesContext(connection) as queries:
            outcomes = Runner(classes, now=T0 + timedelta(minutes=1)).run()
        assert [o.status for o in outcomes] == ["succeeded"] * count
        return [q["sql"] for q in queries]

    registry.get_jobs()  # the stored schedules: read once per invocation, before its passes
    one, five = due_pass(1), due_pass(5)
    # Per job: the claim (BEGIN, the watermark's move, INSERT ... ON CONFLICT DO NOTHING RETURNING,
    # COMMIT), the job's transaction with its fenced record (BEGIN, UPDATE, COMMIT), the retention probe.
    assert (len(five) - len(one)) / 4 == 8, five
    # (Inside the test's own transaction, BEGIN and COMMIT are a savepoint and its release.)
    kinds = [{"SAVEPOINT": "BEGIN", "RELEASE": "COMMIT"}.get(w, w) for w in (sql.split()[0] for sql in one[-8:])]
    assert kinds == ["BEGIN", "UPDATE", "INSERT", "COMMIT", "BEGIN", "UPDATE", "COMMIT", "SELECT"], one


def test_a_due_job_with_the_database_lock_costs_three_commits_and_ten_statements():
    classes = {
        "test.dblock": type(
            "DbLock",
            (BaseCronJob,),
            {"schedule": "* * * * *", "code": "test.dblock", "lock": "database", "run": lambda self: None},
        )
    }
    Runner(classes, now=T0).run()  # first seen
    Runner(classes, now=T0 + timedelta(minutes=1)).run()  # its first run inserts the lock's row
    with CaptureQueriesContext(connection) as queries:
        outcomes = Runner(classes, now=T0 + timedelta(minutes=2)).run()
    assert [o.status for o in outcomes] == ["succeeded"]
    sql = [q["sql"] for q in queries]
    kinds = [{"SAVEPOINT": "BEGIN", "RELEASE": "COMMIT"}.get(w, w) for w in (s.split()[0] for s in sql[-10:])]
    # The claim's transaction; the lock, taken in autocommit; the job's transaction with its fenced
    # record and the lock's release; the retention probe.
    assert kinds == ["BEGIN", "UPDATE", "INSERT", "COMMIT", "UPDATE", "BEGIN", "UPDATE", "UPDATE", "COMMIT", "SELECT"]
    assert "cronjobs_lease" in sql[-6] and "cronjobs_run" in sql[-4] and "cronjobs_lease" in sql[-3], sql[-10:]


@pytest.mark.parametrize("forced", [False, True])
def test_a_claim_sends_each_value_as_the_fields_own_get_db_prep_save_would(forced):
    Job.objects.create(code="test.claimed", first_seen=T0, schedule_key="", watermark=T0, next_slot=T0)
    sent = []

    def capture(execute, sql, params, many, context):
        sent.append(list(params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        run = Run.objects.claim("test.claimed", T0, 2, lease=timedelta(seconds=90), forced=forced)
    assert run is not None
    fields = [f for f in Run._meta.concrete_fields if not f.primary_key]
    expected = [f.get_db_prep_save(f.pre_save(run, True), connection) for f in fields]
    assert sent[-1:] == [expected]
    stored = Run.objects.get(pk=run.pk)
    assert (stored.job_id, stored.slot, stored.attempt, stored.forced, stored.token) == (
        "test.claimed", T0, 2, forced, run.token
    )  # fmt: skip
    assert stored.lease_until == run.lease_until and stored.pid_namespace == run.pid_namespace


@jobs("EveryMinute", "WritesThenFails")
def test_runcrons_exits_1_when_a_job_failed_and_reports_each_run(capsys):
    call_command("runcrons")
    Job.objects.update(watermark=T0, next_slot=T0 + timedelta(minutes=1))
    with pytest.raises(CommandError) as error:
        call_command("runcrons")
    assert error.value.returncode == 1
    out = capsys.readouterr().out
    assert "test.every_minute: succeeded in" in out
    assert "test.fails: failed in" in out and "RuntimeError: boom after two writes" in out


@jobs("EveryMinute")
def test_runcrons_prints_nothing_when_nothing_is_due(capsys):
    call_command("runcrons")  # the first sight: says that it registered the job
    capsys.readouterr()
    call_command("runcrons")
    assert capsys.readouterr() == ("", "")


@jobs("EveryMinute")
def test_runcrons_rejects_unknown_codes_with_a_suggestion():
    with pytest.raises(
        CommandError, match=r"^unknown job code 'test.every_minut'; did you mean 'test.every_minute'\?$"
    ) as error:
        call_command("runcrons", "test.every_minut")
    assert error.value.returncode == 2


@override_settings(CRONJOBS={"AUTODISCOVER": False, "LOCK": "carrier-pigeon"})
def test_runcrons_exits_2_on_configuration_errors():
    with pytest.raises(CommandError, match=r"cronjobs\.E005") as error:
        call_command("runcrons")
    assert error.value.returncode == 2


@jobs("EveryMinute", "Hourly")
def test_runcrons_runs_only_the_codes_given(capsys):
    call_command("runcrons", "test.hourly", "--force")
    assert list(Run.objects.values_list("job_id", flat=True)) == ["test.hourly"]
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ test\.hourly: succeeded", capsys.readouterr().out, re.M)


@jobs("EveryMinute")
def test_runcrons_on_an_unmigrated_database_says_to_migrate():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE cronjobs_job")
    with pytest.raises(
        CommandError, match=r"no such table: cronjobs_job \(have you run `manage.py migrate`\?\)"
    ) as error:
        call_command("runcrons")
    assert error.value.returncode == 1
