"""Jobs of the tests of hooks, conditions, maintenance mode and jitter (cronjobs.engine.hooks...)."""

import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from cronjobs import BaseCronJob
from tests.testapp.models import Effect


def _effect(job: str, what: str) -> None:
    """A row that says ``what`` happened and whether it happened inside a transaction."""
    Effect.objects.create(job=f"{job}|{what}|atomic={connection.in_atomic_block}", pid=os.getpid())


class HookedJob(BaseCronJob):
    """Every hook writes a row; ``CRONJOBS_TEST_HOOK_FAILS`` names a hook that raises."""

    schedule = "* * * * *"
    code = "test.hooked"

    def run(self):
        _effect(self.code, "run")
        if os.environ.get("CRONJOBS_TEST_RUN_FAILS"):
            raise ValueError("the job failed")
        return "done"

    def _hook(self, name, detail):
        _effect(self.code, f"{name}:{detail}")
        if os.environ.get("CRONJOBS_TEST_HOOK_FAILS") == name:
            raise RuntimeError(f"{name} went wrong")

    def on_start(self):
        self._hook("on_start", "")

    def on_success(self, result):
        self._hook("on_success", result)

    def on_failure(self, error):
        self._hook("on_failure", f"{type(error).__name__}:{error}")

    def on_finish(self, outcome):
        self._hook("on_finish", outcome.status)


class OnlyInProduction(BaseCronJob):
    schedule = "* * * * *"
    code = "test.only_in_production"
    environments = ("production",)

    def run(self):
        _effect(self.code, "run")


def _hours_from_now(zone: str, start: int, end: int) -> tuple[str, str]:
    """A daily window from ``start`` to ``end`` hours from now, in ``zone``."""
    now = datetime.now(ZoneInfo(zone))
    return (f"{(now.hour + start) % 24:02d}:{now.minute:02d}", f"{(now.hour + end) % 24:02d}:{now.minute:02d}")


class OutsideWindow(BaseCronJob):
    """Runs only in a window that starts in ten hours: its slots now are skipped."""

    schedule = "* * * * *"
    code = "test.outside_window"
    timezone = "America/New_York"
    between = _hours_from_now("America/New_York", 10, 12)

    def run(self):
        _effect(self.code, "run")


class InsideUnlessWindow(BaseCronJob):
    """Skips a window around now: its slots now are skipped."""

    schedule = "* * * * *"
    code = "test.unless_between"
    timezone = "Europe/Berlin"
    unless_between = _hours_from_now("Europe/Berlin", -1, 1)

    def run(self):
        _effect(self.code, "run")


class DecidesItself(BaseCronJob):
    schedule = "* * * * *"
    code = "test.decides_itself"

    def should_run(self, slot):
        if os.environ.get("CRONJOBS_TEST_SHOULD_RUN") == "raise":
            raise LookupError("no verdict")
        return os.environ.get("CRONJOBS_TEST_SHOULD_RUN") == "yes"

    def run(self):
        _effect(self.code, "run")


class KeepsGoing(BaseCronJob):
    """Runs in maintenance mode (a backup, say)."""

    schedule = "* * * * *"
    code = "test.keeps_going"
    run_in_maintenance = True

    def run(self):
        _effect(self.code, "run")


class Jittered(BaseCronJob):
    """A fleet of these (Jittered000...Jittered099) share one schedule and spread by jitter."""

    abstract = True
    schedule = "* * * * *"
    jitter = timedelta(seconds=float(os.environ.get("CRONJOBS_TEST_JITTER", "15")))

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())


for _number in range(100):
    _name = f"Jittered{_number:03d}"
    globals()[_name] = type(_name, (Jittered,), {"code": f"test.jittered.{_number:03d}", "__module__": __name__})


class BacksOff(BaseCronJob):
    """Fails every time; retries 10, 20, then 30 minutes (capped) after each failure."""

    schedule = "@yearly"
    code = "test.backs_off"
    retries = 4
    retry_delay = timedelta(minutes=10)
    retry_backoff = 2
    retry_max_delay = timedelta(minutes=30)
    retry_jitter = os.environ.get("CRONJOBS_TEST_RETRY_JITTER") == "1"

    def run(self):
        raise ValueError("still broken")


class RetriesConnectionErrors(BaseCronJob):
    schedule = "@yearly"
    code = "test.retries_connection_errors"
    retries = 2
    retry_on = (ConnectionError,)

    def run(self):
        _effect(self.code, "run")
        if os.environ.get("CRONJOBS_TEST_RAISE") == "ConnectionError":
            raise ConnectionRefusedError("database went away")
        raise ValueError("a bug: retrying will not help")


class AsyncJob(BaseCronJob):
    """``async def run()``: writes through the async ORM, prints, and (CRONJOBS_TEST_SLEEP) then sleeps."""

    schedule = "* * * * *"
    code = "test.async"
    timeout = timedelta(seconds=float(os.environ.get("CRONJOBS_TEST_TIMEOUT", "30")))

    async def run(self):
        import asyncio

        from asgiref.sync import sync_to_async

        await Effect.objects.acreate(job=f"{self.code}|acreate", slot=self.slot, pid=os.getpid())
        in_atomic = await sync_to_async(lambda: connection.in_atomic_block)()
        await sync_to_async(_effect)(self.code, "run")
        print(f"async job ran in a transaction: {in_atomic}")  # noqa: T201  (captured: that is the point)
        try:
            await asyncio.sleep(float(os.environ.get("CRONJOBS_TEST_SLEEP", "0")))
        except asyncio.CancelledError:
            print("cancelled at its await")  # noqa: T201  (captured: that is the point)
            raise
        if os.environ.get("CRONJOBS_TEST_RUN_FAILS"):
            raise ValueError("async failure")
        return "async done"


class LongJitter(BaseCronJob):
    """Starts up to an hour after its slot: runcrons waits for it (until stopped)."""

    schedule = "* * * * *"
    code = "test.long_jitter"
    jitter = timedelta(hours=1)

    def run(self):
        _effect(self.code, "run")
