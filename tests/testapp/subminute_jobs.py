"""Jobs of the sub-minute tests (tests/engine/test_sub_minute.py), each writing one Effect a run."""

import os
from datetime import timedelta

from cronjobs import BaseCronJob
from tests.testapp.models import Effect


class Recorded(BaseCronJob):
    abstract = True
    interval = timedelta(seconds=20)
    lock = "database"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())


class TwentySecondsByCron(Recorded):
    code = "sub.by_cron"


class TwentySecondsByLoop(Recorded):
    code = "sub.by_loop"
