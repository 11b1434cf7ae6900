"""``manage.py cronjobs``: list, history, pause, resume, run, unlock, prune."""

from __future__ import annotations

import io
import json
import re
import signal
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import CommandError, call_command
from django.test.utils import override_settings

from cronjobs.engine.runner import Runner
from cronjobs.models import Action, Job, Run
from tests.support.projects import stop, wait_for
from tests.testapp.jobs import EveryMinute, Flaky, Hourly

JOBS = ["tests.testapp.jobs.EveryMinute", "tests.testapp.jobs.Flaky", "tests.testapp.jobs.Hourly"]


def job_settings(**cronjobs):
    return override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": JOBS, **cronjobs}, TIME_ZONE="Europe/Berlin")


def cronjobs(*args: str) -> str:
    out = io.StringIO()
    call_command("cronjobs", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def ran():
    """Each job seen a few minutes ago and run once; Flaky failed."""
    now = datetime.now(timezone.utc)
    jobs = {"test.every_minute": EveryMinute, "test.flaky": Flaky, "test.hourly": Hourly}
    with job_settings():
        Runner(jobs, now=now - timedelta(minutes=3)).run()
        Runner(jobs, now=now, force=True).run()
        yield


@pytest.mark.django_db
def test_list_shows_schedule_next_and_last_run_for_a_person(ran):
    text = cronjobs("list")
    blocks = {block.split("\n")[0].split()[0]: block for block in text.strip().split("\n\n")}
    assert list(blocks) == ["test.every_minute", "test.flaky", "test.hourly", "task"]
    assert blocks["task"] == "task queues\n  no tasks queued"
    flaky = blocks["test.flaky"]
    assert "FAILING since" in flaky
    assert "  schedule  Every minute (Europe/Berlin)" in flaky
    assert "  next      " in flaky and "(due: at the next runcrons; is cron running it?)" in flaky
    assert "  last      failed " in flaky and "RuntimeError: flaky is failing" in flaky
    assert "  lock      free" in flaky
    assert "  schedule  At the start of every hour (Europe/Berlin)" in blocks["test.hourly"]
    assert ":00:00 CET (" in blocks["test.hourly"] and ":00:00 UTC)" in blocks["test.hourly"]


@pytest.mark.django_db
def test_list_json_is_for_machines(ran):
    data = json.loads(cronjobs("list", "--json"))
    jobs = {job["code"]: job for job in data["jobs"]}
    assert jobs["test.flaky"]["last_run"]["status"] == "failed"
    assert jobs["test.every_minute"]["last_run"]["status"] == "succeeded"
    assert jobs["test.hourly"]["timezone"] == "Europe/Berlin"
    assert jobs["test.hourly"]["next_run"].endswith("+00:00")
    assert jobs["test.hourly"]["next_run_local"][-6:] in ("+01:00", "+02:00")
    assert jobs["test.hourly"]["paused"] is False and jobs["test.hourly"]["lock"] is None


@pytest.mark.django_db
def test_list_reads_the_state_of_all_jobs_in_three_queries_and_the_queues_maintenance_and_stored_schedules_in_one_each(
    ran, django_assert_num_queries
):
    with django_assert_num_queries(6):
        cronjobs("list")


@pytest.mark.django_db
def test_list_shows_the_task_queues(ran):
    from tests.testapp.tasks import record, record_mail

    record.enqueue("a")
    record_mail.enqueue("b")
    text = cronjobs("list")
    assert "task queues\n  default: 1 ready, 0 scheduled, 0 running, 0 failed, 0 succeeded" in text
    assert "  mail: 1 ready, 0 scheduled" in text
    queues = json.loads(cronjobs("list", "--json"))["task_queues"]
    assert [(q["queue_name"], q["ready"]) for q in queues] == [("default", 1), ("mail", 1)]


@pytest.mark.django_db
def test_list_shows_registered_jobs_that_never_ran():
    with job_settings():
        text = cronjobs("list")
    assert text.count("  last      never ran") == 3


@pytest.mark.django_db
def test_history_lists_runs_filters_failures_and_shows_one_run_whole(ran):
    with job_settings():
        everything = cronjobs("history")
        failed = cronjobs("history", "--failed")
        one = cronjobs("history", "test.every_minute", "--limit", "1")
        run_id = Run.objects.get(job_id="test.flaky", status="failed").pk
        whole = cronjobs("history", "--run", str(run_id))
    assert "test.flaky" in everything and "test.every_minute" in everything
    assert "test.every_minute" not in failed and "flaky is failing" in failed
    header, *lines = one.strip().splitlines()
    assert header.split() == ["run", "started", "(job's", "zone)", "job", "status", "took", "message"]
    assert len(lines) == 1 and "test.every_minute" in lines[0]
    assert "Traceback (most recent call last)" in whole
    assert "output:\nflaky ran" in whole


@pytest.mark.django_db
def test_unknown_codes_suggest_the_closest_and_exit_2():
    with job_settings():
        with pytest.raises(CommandError, match=r"did you mean 'test\.flaky'") as info:
            cronjobs("pause", "test.flakey")
        assert info.value.returncode == 2
        with pytest.raises(CommandError) as info:
            cronjobs("history", "--run", "999")
        assert info.value.returncode == 2


@pytest.mark.django_db
def test_pause_and_resume_are_recorded_and_resume_skips_the_missed_slots():
    with job_settings():
        jobs = {"test.every_minute": EveryMinute}
        past = datetime.now(timezone.utc) - timedelta(minutes=30)
        Runner(jobs, now=past).run()
        assert "paused" in cronjobs("pause", "test.every_minute")
        assert "already paused" in cronjobs("pause", "test.every_minute")
        assert "PAUSED" in cronjobs("list")
        assert Runner(jobs, now=past + timedelta(minutes=10)).run() == []
        assert "resumed" in cronjobs("resume", "test.every_minute")
        state = Job.objects.get()
        assert not state.paused and state.watermark > past + timedelta(minutes=29)
        assert Runner(jobs, now=datetime.now(timezone.utc)).run() == []  # nothing owed from the pause
    assert list(Action.objects.order_by("at").values_list("kind", flat=True)) == ["pause", "resume"]
    assert Run.objects.count() == 0


@pytest.mark.django_db
def test_run_marks_the_job_for_the_next_runcrons_which_runs_it_once():
    with job_settings():
        jobs = {"test.hourly": Hourly}
        cronjobs("pause", "test.hourly")
        assert cronjobs("run", "test.hourly").strip() == (
            "test.hourly: requested; the next runcrons runs it once, as a forced run (under cron: within a "
            "minute). To run it here and now instead: `manage.py cronjobs run test.hourly --now`."
        )
        assert "run requested" in cronjobs("list")
        first = Runner(jobs, now=datetime.now(timezone.utc)).run()
        second = Runner(jobs, now=datetime.now(timezone.utc)).run()
    assert [(o.status, o.code) for o in first] == [("succeeded", "test.hourly")]
    assert second == []
    assert Run.objects.get().forced is True


@pytest.mark.django_db
def test_run_now_runs_the_job_here_at_once_and_fails_as_runcrons_does():
    with job_settings():
        out = cronjobs("run", "test.hourly", "--now")
        assert re.search(r"test\.hourly: succeeded in \d+\.\d\ds \(forced\)", out), out
        assert list(Run.objects.values_list("job_id", "forced", "status")) == [("test.hourly", True, "succeeded")]
        assert not Job.objects.get(code="test.hourly").run_requested
        with pytest.raises(CommandError, match="1 of 1 run") as raised:
            cronjobs("run", "test.flaky", "--now")
    assert raised.value.returncode == 1


@pytest.mark.django_db
def test_prune_applies_keep_runs_now(ran):
    with job_settings(KEEP_RUNS=1):
        Run.objects.create(job_id="test.hourly", slot=datetime(2020, 1, 1, tzinfo=timezone.utc), status="missed")
        text = cronjobs("prune")
    assert "run(s) deleted (keeping the newest 1 per job)" in text
    assert Run.objects.filter(job_id="test.hourly").count() == 1


# -- with real processes: a lock held by a running runcrons --------------------------------


@pytest.mark.processes
def test_list_names_the_lock_holder_and_unlock_lets_the_next_run_start(project):
    holder = project.start(
        "runcrons", "--force", "test.holds_lock", jobs="HoldsLock", env={"CRONJOBS_TEST_SLEEP": "60"}
    )
    try:
        wait_for(lambda: project.count("cronjobs_run", "status = 'running'") == 1)
        listed = project.manage("cronjobs", "list", "--json", jobs="HoldsLock")
        assert listed.returncode == 0, listed.stderr
        lock = json.loads(listed.stdout)["jobs"][0]["lock"]
        assert lock["holder"].split(":")[1] == str(holder.pid)
        assert lock["since"] is not None
        skipped = project.manage("runcrons", "--force", "test.holds_lock", jobs="HoldsLock")
        assert skipped.returncode == 0, skipped.stderr
        assert [r[2] for r in project.runs("test.holds_lock")] == ["running", "skipped"]
        refused = project.manage("cronjobs", "unlock", "test.holds_lock", jobs="HoldsLock")
        assert refused.returncode == 2 and "--yes" in refused.stderr
        broken = project.manage("cronjobs", "unlock", "test.holds_lock", "--yes", jobs="HoldsLock")
        assert broken.returncode == 0 and f":{holder.pid}:" in broken.stdout
        after = project.manage(
            "runcrons", "--force", "test.holds_lock", jobs="HoldsLock", env={"CRONJOBS_TEST_SLEEP": "0"}
        )
        assert after.returncode == 0 and "succeeded" in after.stdout, after.stdout + after.stderr
        assert project.count("cronjobs_action", "kind = 'unlock'") == 1
    finally:
        stop(holder, signal.SIGKILL)
        holder.wait(timeout=30)


@pytest.mark.processes
def test_a_run_requested_once_runs_once_however_many_runcrons_see_it(project):
    project.seed_job("test.hourly", minutes_ago=0)
    requested = project.manage("cronjobs", "run", "test.hourly", jobs="Hourly")
    assert requested.returncode == 0, requested.stderr
    started = [project.start("runcrons", jobs="Hourly") for _ in range(5)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in started]
    assert [r for r in results if r[0] != 0] == []
    forced = project.query("SELECT status FROM cronjobs_run WHERE job_code = 'test.hourly' AND forced = ?", (True,))
    assert forced == [("succeeded",)]
    runs = project.count("cronjobs_run", "job_code = 'test.hourly' AND status = 'succeeded'")
    assert project.count("testapp_effect", "job = 'test.hourly'") == runs  # an hour may begin meanwhile
    assert project.query("SELECT run_requested FROM cronjobs_job WHERE code = 'test.hourly'") == [(None,)]
