"""When runcrons looks at its jobs again: the stay of a cron-started invocation, --loop's wake-ups."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from django.test import override_settings

from cronjobs import registry
from cronjobs.engine import wakeups
from cronjobs.engine.runner import Runner
from cronjobs.models import Job, Run
from tests.support.projects import clear_of_the_next_minute
from tests.testapp import subminute_jobs

UTC = timezone.utc
T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
SUB = "tests.testapp.subminute_jobs"

pytestmark = pytest.mark.django_db


def jobs(*paths: str):
    return override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": list(paths)})


class Clock:
    """A wall clock that moves only when the waiting code sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_only_an_interval_under_a_minute_makes_runcrons_stay():
    assert wakeups.sub_minute([subminute_jobs.TwentySecondsByCron])
    minute = type("Minute", (subminute_jobs.Recorded,), {"interval": timedelta(minutes=1), "code": "m"})
    cron = type("Cron", (subminute_jobs.Recorded,), {"interval": None, "schedule": "* * * * *", "code": "c"})
    broken = type("Broken", (subminute_jobs.Recorded,), {"interval": None, "code": "b"})
    assert not wakeups.sub_minute([minute, cron, broken])


@pytest.mark.parametrize(
    ("now", "due", "seconds"),
    [
        (T0 + timedelta(seconds=5), None, 55.0),
        (T0 + timedelta(seconds=5), T0 + timedelta(seconds=20), 15.0),
        (T0 + timedelta(seconds=5), T0 + timedelta(seconds=90), 55.0),
        (T0 + timedelta(seconds=30), T0 + timedelta(seconds=20), 0.1),  # overdue: soon, never a busy loop
    ],
)
def test_the_loop_wakes_at_the_next_due_slot_or_the_next_minute_whichever_is_first(now, due, seconds):
    assert wakeups.seconds_until_next_pass(now, due) == seconds


def test_a_cron_started_invocation_runs_each_slot_of_its_minute_on_time_then_leaves(monkeypatch):
    clock = Clock(T0 + timedelta(seconds=1))
    waits: list[datetime] = []

    def sleep(seconds: float) -> None:
        clock.now += timedelta(seconds=seconds)

    monkeypatch.setattr(wakeups.stops, "sleep", sleep)
    with jobs(f"{SUB}.TwentySecondsByCron"):
        found = registry.get_jobs()
        Job.objects.see(found, T0 - timedelta(seconds=10))
        Runner(found, now=clock.now).run()  # the slot at the minute

        def run_pass(now: datetime) -> list:
            waits.append(now)
            return Runner(found, now=now).run()

        outcomes = wakeups.stay_in_minute(found, clock.now, run_pass, clock=clock)
    assert waits == [T0 + timedelta(seconds=20), T0 + timedelta(seconds=40)]
    assert [o.status for o in outcomes] == ["succeeded", "succeeded"]
    slots = list(Run.objects.order_by("slot").values_list("slot", "status"))
    assert slots == [(T0 + timedelta(seconds=s), "succeeded") for s in (0, 20, 40)]
    assert clock.now < T0 + timedelta(minutes=1)


def test_a_paused_sub_minute_job_keeps_no_invocation_waiting(monkeypatch):
    monkeypatch.setattr(wakeups.stops, "sleep", lambda seconds: pytest.fail("waited for a paused job"))
    with jobs(f"{SUB}.TwentySecondsByCron"):
        found = registry.get_jobs()
        Job.objects.see(found, T0)
        Job.objects.pause("sub.by_cron")
        assert wakeups.next_due(found) is None
        assert wakeups.stay_in_minute(found, T0, lambda now: pytest.fail("ran"), clock=Clock(T0)) == []


def test_an_interval_that_does_not_divide_a_minute_keeps_its_epoch_aligned_slots(monkeypatch):
    clock = Clock(T0)

    def sleep(seconds: float) -> None:
        clock.now += timedelta(seconds=seconds)

    monkeypatch.setattr(wakeups.stops, "sleep", sleep)
    forty_five = type("FortyFive", (subminute_jobs.Recorded,), {"interval": timedelta(seconds=45), "code": "sub.45"})
    found = {"sub.45": forty_five}
    ran: list[datetime] = []
    for minute in range(4):  # four cron invocations, one a minute
        clock.now = T0 + timedelta(minutes=minute, seconds=0.5)
        if minute == 0:
            Job.objects.see(found, clock.now)
        Runner(found, now=clock.now).run()
        wakeups.stay_in_minute(
            found, clock.now, lambda now: ran.append(now) or Runner(found, now=now).run(), clock=clock
        )
    slots = list(Run.objects.order_by("slot").values_list("slot", "status"))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert [s for s, _ in slots] == [
        t for t in (T0 + timedelta(seconds=k) for k in range(1, 240)) if (t - epoch).total_seconds() % 45 == 0
    ]
    assert {status for _, status in slots} == {"succeeded"}
    # Those inside a minute ran on their slot, woken for; those on a minute, by its invocation.
    assert ran == [s for s, _ in slots if s.second]


def test_runcrons_stays_for_a_sub_minute_slot_and_drains_tasks_while_it_waits(monkeypatch):
    from django.core.management import call_command

    from cronjobs.engine import loop

    drains: list[float | None] = []
    monkeypatch.setattr(
        loop, "drain_tasks", lambda *, started, workers=1, queues=None, by=None: drains.append(by) or None
    )
    wakes: list[datetime] = []

    def next_due(codes) -> datetime | None:  # once: half a second after the first pass
        if wakes:
            return None
        wakes.append(datetime.now(UTC) + timedelta(seconds=0.5))
        return wakes[0]

    monkeypatch.setattr(wakeups, "next_due", next_due)
    passes: list[datetime] = []
    real_run = Runner.run

    def run(self, *args, **kwargs):
        passes.append(self.now)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(Runner, "run", run)
    clear_of_the_next_minute(5)  # the wake-up stays in the invocation's minute
    with jobs(f"{SUB}.TwentySecondsByCron"):
        call_command("runcrons", verbosity=0)
    [wake] = wakes
    assert len(passes) == 2 and passes[0] < wake <= passes[1]  # the second pass waited for the wake-up
    # Drained while waiting for the slot (until it), then in what was left of the budget.
    assert len(drains) == 2 and drains[0] is not None and drains[1] is None


def test_runcrons_with_only_minute_jobs_does_not_stay(monkeypatch):
    from django.core.management import call_command

    monkeypatch.setattr(wakeups, "stay_in_minute", lambda *args, **kwargs: pytest.fail("stayed"))
    with jobs("tests.testapp.jobs.EveryMinute"):
        call_command("runcrons", verbosity=0)


def test_a_due_moment_that_a_pass_does_not_move_ends_the_stay(monkeypatch):
    monkeypatch.setattr(wakeups, "next_due", lambda codes: T0 + timedelta(seconds=20))
    passes: list[datetime] = []
    clock = Clock(T0 + timedelta(seconds=21))
    assert wakeups.stay_in_minute(["x"], T0, lambda now: passes.append(now) or [], clock=clock) == []
    assert passes == [clock.now]  # one pass, then no spinning on a moment it could not settle
