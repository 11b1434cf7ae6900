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


class Chatty(BaseCronJob):
    """Prints to stdout and stderr and logs a warning: CRONJOBS_TEST_LINES times each (default 1)."""

    schedule = "* * * * *"
    code = "test.chatty"

    def run(self):
        import logging
        import sys

        for i in range(int(os.environ.get("CRONJOBS_TEST_LINES", "1"))):
            print(f"stdout line {i}")  # noqa: T201  (captured: that is the point)
            print(f"stderr line {i}", file=sys.stderr)  # noqa: T201  (captured: that is the point)
            logging.getLogger("testapp").warning("log line %d", i)
        return "chatted"


class Flaky(BaseCronJob):
    """Fails while ``Flaky.failing`` is true (tests in this process toggle it)."""

    schedule = "* * * * *"
    code = "test.flaky"
    failing = True

    def run(self):
        print("flaky ran")  # noqa: T201  (captured: that is the point)
        if type(self).failing:
            raise RuntimeError("flaky is failing")
        return "flaky succeeded"


class HoldsLock(BaseCronJob):
    """Sleeps CRONJOBS_TEST_SLEEP seconds (default 30) holding its lock."""

    schedule = "@yearly"
    code = "test.holds_lock"

    def run(self):
        time.sleep(float(os.environ.get("CRONJOBS_TEST_SLEEP", "30")))
