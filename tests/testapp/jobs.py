"""Jobs the tests use, selected per test with CRONJOBS["JOBS"] (or CRONJOBS_TEST_JOBS)."""

import os
import time
from datetime import timedelta

from cronjobs import BaseCronJob, CommandJob
from tests.testapp.models import Effect


class EveryMinute(BaseCronJob):
    schedule = "* * * * *"
    code = "test.every_minute"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return "wrote one row"


class EveryMinuteSlow(BaseCronJob):
    """Writes a row, then sleeps (CRONJOBS_TEST_SLEEP seconds, default 1)."""

    schedule = "* * * * *"
    code = "test.slow"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        time.sleep(float(os.environ.get("CRONJOBS_TEST_SLEEP", "1")))


class WritesThenFails(BaseCronJob):
    schedule = "* * * * *"
    code = "test.fails"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        raise RuntimeError("boom after two writes")


class NotAtomicFails(WritesThenFails):
    code = "test.not_atomic_fails"
    atomic = False


class Hourly(BaseCronJob):
    schedule = "@hourly"
    code = "test.hourly"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())


class FiveMinutes(BaseCronJob):
    interval = timedelta(minutes=5)
    code = "test.five_minutes"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())


class Clear(CommandJob):
    schedule = "@daily"
    code = "test.clearsessions"
    command = "clearsessions"


class HandedOff(BaseCronJob):
    """Its work runs in a Tasks worker, not in runcrons."""

    schedule = "* * * * *"
    code = "test.handed_off"
    task_backend = "default"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return f"ran for {self.slot:%H:%M}"
