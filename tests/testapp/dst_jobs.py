"""Jobs of the daylight-saving tests (tests/test_dst_processes.py), each writing one Effect a run."""

import os

from cronjobs import BaseCronJob
from tests.testapp.models import Effect


class Recorded(BaseCronJob):
    abstract = True

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())


class BerlinQuarterHours(Recorded):
    schedule = "*/15 * * * *"
    timezone = "Europe/Berlin"
    code = "dst.berlin_quarter_hours"


class NewYorkTenMinutes(Recorded):
    schedule = "*/10 * * * *"
    timezone = "America/New_York"
    code = "dst.new_york_ten_minutes"


class BerlinHalfPastTwo(Recorded):
    schedule = "30 2 * * *"
    timezone = "Europe/Berlin"
    code = "dst.berlin_half_past_two"
