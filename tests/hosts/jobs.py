"""The jobs the test hosts run: fifty every-minute jobs, and one that a partition catches mid-run."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

from cronjobs import BaseCronJob
from tests.testapp.models import Effect


class Minutely(BaseCronJob):
    """Writes one row per run: counting rows per (job, slot) counts committed executions."""

    schedule = "* * * * *"
    lock = "database"
    abstract = True

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return socket.gethostname()


#: Minutely00 ... Minutely49, codes hosts.m00 ... hosts.m49.
for _n in range(50):
    globals()[f"Minutely{_n:02d}"] = type(
        f"Minutely{_n:02d}", (Minutely,), {"code": f"hosts.m{_n:02d}", "abstract": False, "__module__": __name__}
    )
FIFTY = [f"tests.hosts.jobs.Minutely{n:02d}" for n in range(50)]


class CaughtMidRun(BaseCronJob):
    """Writes, then (first attempt on host1 only) sleeps past its lease: the host is cut off meanwhile."""

    schedule = "* * * * *"
    lock = "database"
    lock_ttl = timedelta(seconds=3)
    retries = 1
    retry_delay = timedelta(seconds=1)
    code = "hosts.caught"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        if self.attempt == 1 and socket.gethostname() == "host1":
            time.sleep(float(os.environ.get("CRONJOBS_TEST_SLEEP", "12")))
        return f"attempt {self.attempt} on {socket.gethostname()}"


class CacheLocked(Minutely):
    """Overlap prevented by a cache lock on Redis."""

    lock = "cache"
    abstract = False
    code = "hosts.cache_locked"
    lock_ttl = timedelta(seconds=3)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        time.sleep(float(os.environ.get("CRONJOBS_TEST_SLEEP", "0")))
        return socket.gethostname()
