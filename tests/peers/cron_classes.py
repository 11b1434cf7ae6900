"""django-cron's own examples (its README and docs' sample configurations), as written there:
``CronJobBase`` and ``Schedule`` from the real django-cron 0.6. Each ``do()`` leaves an Effect row."""

from django_cron import CronJobBase, Schedule

from tests.testapp.models import Effect


class MyCronJob(CronJobBase):
    RUN_EVERY_MINS = 120  # every 2 hours

    schedule = Schedule(run_every_mins=RUN_EVERY_MINS)
    code = "my_app.my_cron_job"  # a unique code

    def do(self):
        Effect.objects.create(job=self.code)


class EveryFive(CronJobBase):
    RUN_EVERY_MINS = 5
    MIN_NUM_FAILURES = 3

    schedule = Schedule(run_every_mins=RUN_EVERY_MINS)
    code = "my_app.every_five"

    def do(self):
        Effect.objects.create(job=self.code)
        return "five minutes on"


class AtTimes(CronJobBase):
    RUN_AT_TIMES = ["11:30", "14:00", "23:15"]

    schedule = Schedule(run_at_times=RUN_AT_TIMES)
    code = "my_app.at_times"

    def do(self):
        pass


class EveryAndAt(CronJobBase):
    RUN_EVERY_MINS = 120
    RUN_AT_TIMES = ["6:30"]

    schedule = Schedule(run_every_mins=RUN_EVERY_MINS, run_at_times=RUN_AT_TIMES)
    code = "my_app.every_and_at"

    def do(self):
        pass


class RetryAfterFailure(CronJobBase):
    RUN_EVERY_MINS = 60
    RETRY_AFTER_FAILURE_MINS = 5
    ALLOW_PARALLEL_RUNS = True

    schedule = Schedule(run_every_mins=RUN_EVERY_MINS, retry_after_failure_mins=RETRY_AFTER_FAILURE_MINS)
    code = "my_app.retry_after_failure"

    def do(self):
        pass


class OnWeekends(CronJobBase):
    schedule = Schedule(run_at_times=["7:00"], run_on_days=[5, 6])
    code = "my_app.on_weekends"

    def do(self):
        pass


class AttributesOnly(CronJobBase):
    """No Schedule: RUN_EVERY_MINS is read."""

    RUN_EVERY_MINS = 15
    code = "my_app.attributes_only"

    def do(self):
        pass


class NoCode(CronJobBase):
    schedule = Schedule(run_every_mins=5)

    def do(self):
        pass


class BothDayKinds(CronJobBase):
    schedule = Schedule(run_at_times=["7:00"], run_on_days=[0], run_monthly_on_days=[1])
    code = "my_app.both_day_kinds"

    def do(self):
        pass
