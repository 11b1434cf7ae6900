"""Jobs the tests use, selected per test with CRONJOBS["JOBS"] (or CRONJOBS_TEST_JOBS)."""

import os
import sys
import time
from datetime import timedelta

from cronjobs import BaseCronJob, CommandJob
from tests.testapp.models import Effect, run_slow_query


class EveryMinute(BaseCronJob):
    schedule = "* * * * *"
    code = "test.every_minute"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return "wrote one row"


class EveryMinuteSlow(BaseCronJob):
    """Writes a row, touches CRONJOBS_TEST_MARKER (if set), then sleeps (CRONJOBS_TEST_SLEEP seconds, default 1)."""

    schedule = "* * * * *"
    code = "test.slow"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        marker = os.environ.get("CRONJOBS_TEST_MARKER")
        if marker:
            open(marker, "w").close()
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


class SleepsThenWrites(BaseCronJob):
    """Sleeps (CRONJOBS_TEST_SLEEP seconds, default 1), then writes a row: holds no write
    transaction while it sleeps, so other processes can write meanwhile, even on SQLite."""

    schedule = "* * * * *"
    code = "test.sleeps_then_writes"

    def run(self):
        time.sleep(float(os.environ.get("CRONJOBS_TEST_SLEEP", "1")))
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())


# -- locks, crashes, timeouts, workers ------------------------------------------------------


def freeze_the_host() -> None:
    """Stop (SIGSTOP) runcrons and its work horse, as a paused VM: the work horse leads a process
    group of its own, inside runcrons' (the test starts runcrons in a session of its own)."""
    import signal

    if os.getpgrp() == os.getpid():  # a work horse: its supervisor first
        os.kill(os.getppid(), signal.SIGSTOP)
    os.killpg(os.getpgrp(), signal.SIGSTOP)


def _sleep_seconds(default: float) -> float:
    return float(os.environ.get("CRONJOBS_TEST_SLEEP", default))


class Overlapping(BaseCronJob):
    """Runs longer than its interval; records [start, end] outside any transaction."""

    schedule = "* * * * *"
    code = "test.overlapping"
    atomic = False
    lock_ttl = timedelta(seconds=3)

    def run(self):
        from django.utils import timezone

        started = timezone.now()
        time.sleep(_sleep_seconds(1.5))
        Effect.objects.create(job=self.code, slot=started, pid=os.getpid())  # created = the end


class WritesThenHangs(BaseCronJob):
    """Writes a row in its transaction, touches CRONJOBS_TEST_MARKER (if set), then sleeps
    (CRONJOBS_TEST_SLEEP, default 60 s)."""

    schedule = "* * * * *"
    code = "test.hangs"
    lock_ttl = timedelta(seconds=4)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        marker = os.environ.get("CRONJOBS_TEST_MARKER")
        if marker:
            open(marker, "w").close()
        time.sleep(_sleep_seconds(60))
        return "woke up"


class EndlessLoop(BaseCronJob):
    schedule = "* * * * *"
    code = "test.endless_loop"
    timeout = timedelta(seconds=1)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        n = 0
        while True:
            try:
                n += 1
            except Exception:  # a job's own handlers cannot swallow the timeout
                pass


class LongSleep(BaseCronJob):
    schedule = "* * * * *"
    code = "test.long_sleep"
    timeout = timedelta(seconds=1)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        time.sleep(60)


class SlowQuery(BaseCronJob):
    """A query that takes a minute on each vendor; SQLite: an endless recursive CTE."""

    schedule = "* * * * *"
    code = "test.slow_query"
    timeout = timedelta(seconds=1)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        run_slow_query()


class SleepsOneSecond(BaseCronJob):
    """Sleeps, then writes (on SQLite a transaction that has written holds up every writer)."""

    abstract = True
    schedule = "* * * * *"

    def run(self):
        time.sleep(_sleep_seconds(1))
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())


class SleepsOneSecond1(SleepsOneSecond):
    code = "test.sleeps_1"


class SleepsOneSecond2(SleepsOneSecond):
    code = "test.sleeps_2"


class SleepsOneSecond3(SleepsOneSecond):
    code = "test.sleeps_3"


class SleepsOneSecond4(SleepsOneSecond):
    code = "test.sleeps_4"


class SleepsOneSecond5(SleepsOneSecond):
    code = "test.sleeps_5"


class SleepsOneSecond6(SleepsOneSecond):
    code = "test.sleeps_6"


class SleepsOneSecond7(SleepsOneSecond):
    code = "test.sleeps_7"


class SleepsOneSecond8(SleepsOneSecond):
    code = "test.sleeps_8"


class AllowsOverlap(WritesThenHangs):
    """No lock, no transaction (on SQLite a transaction that wrote would hold up every writer)."""

    code = "test.allows_overlap"
    overlap = "allow"
    atomic = False


class HangsWithoutWriting(BaseCronJob):
    abstract = True
    schedule = "* * * * *"
    lock_ttl = timedelta(seconds=4)

    def run(self):
        time.sleep(_sleep_seconds(60))


class HangsWithoutWriting1(HangsWithoutWriting):
    code = "test.quiet_1"


class HangsWithoutWriting2(HangsWithoutWriting):
    code = "test.quiet_2"


class SlowQueryNoTimeout(SlowQuery):
    """The slow query without a timeout: only a signal stops it."""

    code = "test.slow_query_no_timeout"
    timeout = None


class HandedOff(BaseCronJob):
    """Its work runs in a Tasks worker, not in runcrons."""

    schedule = "* * * * *"
    code = "test.handed_off"
    task_backend = "default"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return f"ran for {self.slot:%H:%M}"


class HandedOffFails(HandedOff):
    """Handed off; its task fails (on whichever worker runs it)."""

    code = "test.handed_off_fails"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        raise ValueError(f"the heavy work for {self.slot:%H:%M} failed")


class HandedToRQ(HandedOff):
    """Handed to RQ (django-tasks-rq) on the queue CRONJOBS_TEST_RQ_QUEUE; forced in the tests, and
    never due while they run (however long the machine takes, no minute's slot adds a run)."""

    schedule = "0 0 1 1 *"
    code = "test.handed_to_rq"
    task_backend = "rq"
    task_queue = os.environ.get("CRONJOBS_TEST_RQ_QUEUE", "default")


class HandedToRQFails(HandedOffFails):
    """Handed to RQ; its task fails in the rq worker. Never due while the tests run, as above."""

    schedule = "0 0 1 1 *"
    code = "test.handed_to_rq_fails"
    task_backend = "rq"
    task_queue = os.environ.get("CRONJOBS_TEST_RQ_QUEUE", "default")


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


# -- fencing, isolation -------------------------------------------------------------------


def _crash_own_run(job) -> None:
    """Declare the job's own run crashed from another connection, as another runner's recovery
    does to a runner that was frozen past its lease."""
    from django.db import connections, router

    from cronjobs.models import Run

    other = connections.create_connection(router.db_for_write(Run))
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "UPDATE cronjobs_run SET status = 'crashed', message = 'stopped renewing its lease (the test)' "
                "WHERE job_code = %s AND slot = %s AND attempt = %s",
                [job.code, other.ops.adapt_datetimefield_value(job.slot), job.attempt],
            )
    finally:
        other.close()


class DeclaredCrashedWhileRunning(BaseCronJob):
    """Its run is declared crashed by another process while it runs; then it writes its row."""

    schedule = "* * * * *"
    code = "test.declared_crashed"

    def run(self):
        _crash_own_run(self)
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return "wrote after another process declared the run crashed"


class NotAtomicDeclaredCrashed(DeclaredCrashedWhileRunning):
    code = "test.not_atomic_declared_crashed"
    atomic = False


class Freezes(BaseCronJob):
    """Sleeps CRONJOBS_TEST_SLEEP seconds (a test freezes it meanwhile), then writes its row."""

    schedule = "* * * * *"
    code = "test.freezes"
    lock = "database"
    lock_ttl = timedelta(seconds=2)
    retries = 1
    retry_delay = timedelta(0)

    def run(self):
        time.sleep(_sleep_seconds(10))
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return f"attempt {self.attempt} wrote its row"


class KilledBeforeCommit(BaseCronJob):
    """Writes its row, then touches CRONJOBS_TEST_MARKER (if set) and returns: a test kills the
    process while the run's record, the transaction's last statement, waits in a slow trigger."""

    schedule = "* * * * *"
    code = "test.killed_before_commit"
    retries = 1
    retry_delay = timedelta(0)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        marker = os.environ.get("CRONJOBS_TEST_MARKER")
        if marker:
            open(marker, "w").close()
        return "wrote its row"


class ExitsZero(BaseCronJob):
    schedule = "* * * * *"
    code = "test.exits_zero"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        sys.exit(0)


class ExitsThree(ExitsZero):
    code = "test.exits_three"

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        sys.exit(3)


class CommandExits(CommandJob):
    schedule = "* * * * *"
    code = "test.command_exits"
    command = "exit_with"
    args = ["4"]


class CommandFails(CommandJob):
    schedule = "* * * * *"
    code = "test.command_fails"
    command = "exit_with"
    args = ["5"]
    options = {"error": True}


class AllowsOverlapWithRetries(AllowsOverlap):
    """Hangs without a lock and with a retry: a false crash would start its retry beside it."""

    code = "test.allows_overlap_retried"
    retries = 1
    retry_delay = timedelta(0)


class SignalledWhileBeginning(BaseCronJob):
    """MySQL/MariaDB: SIGTERM arrives while its transaction opens, the server's reply unread."""

    schedule = "* * * * *"
    code = "test.signalled_while_beginning"

    def on_start(self):
        from tests.testapp.interrupts import sigterm_in_next_begin

        sigterm_in_next_begin()

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())


class CatchesUpSlowly(EveryMinuteSlow):
    """Runs every missed slot (catchup "all"), each slowly: a stop leaves the later ones claimed, not started."""

    code = "test.catches_up_slowly"
    catchup = "all"


class FreezesBeforeCommit(BaseCronJob):
    """Writes its row and returns; its process group (runcrons and its work horse, as a paused VM)
    then stops (SIGSTOP) after the last statement of the job's transaction (its run's record, then the release of its database
    lock), before the COMMIT: a runner frozen while it holds the row locks of its record and of
    its lease, as a paused VM or a host cut off without a TCP reset would."""

    schedule = "* * * * *"
    code = "test.freezes_before_commit"
    lock = "database"
    lock_ttl = timedelta(seconds=2)

    def run(self):

        from django.db import connections

        from cronjobs.locks.database import DatabaseLock

        original = DatabaseLock.release

        def release(lock):
            original(lock)
            if connections[lock.db].in_atomic_block:  # released in the job's transaction, with the record
                DatabaseLock.release = original
                freeze_the_host()

        DatabaseLock.release = release
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return "wrote its row"


class SlowlyMonitored(BaseCronJob):
    """A database lock with a short lease, and a monitor (CRONJOBS_TEST_MONITOR_URL) that takes
    longer to answer than a third of it: the run's start and end notices outlast renewals."""

    schedule = "* * * * *"
    code = "test.slowly_monitored"
    lock = "database"
    lock_ttl = timedelta(seconds=3)
    monitors = {
        "slow": {
            "BACKEND": "healthchecks",
            "URL": os.environ.get("CRONJOBS_TEST_MONITOR_URL", "http://127.0.0.1:9/u"),
            "TIMEOUT": 10,
            "RETRIES": 0,
        }
    }

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return "wrote its row"


# -- supervised execution: work horses the supervisor kills or replaces ---------------------


def hold_the_gil(seconds: float) -> None:
    """Sleep ``seconds`` inside one C call that keeps the GIL (``ctypes.PyDLL`` never releases
    it): no other thread of the process runs, and no Python signal handler either."""
    import ctypes

    libc = ctypes.PyDLL(None)
    left = int(seconds)
    while left > 0:  # sleep() returns what is left when a signal interrupts it
        left = libc.sleep(left)


class StuckInC(BaseCronJob):
    """Writes a row, touches CRONJOBS_TEST_MARKER, then stays in one C call holding the GIL for
    CRONJOBS_TEST_SLEEP seconds (default 600): past its 3 s timeout."""

    schedule = "* * * * *"
    code = "test.stuck_in_c"
    timeout = timedelta(seconds=3)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        marker = os.environ.get("CRONJOBS_TEST_MARKER")
        if marker:
            open(marker, "w").close()
        hold_the_gil(_sleep_seconds(600))
        return "came back"


class StuckInCNoTimeout(StuckInC):
    """StuckInC without a timeout: only a stop ends it."""

    code = "test.stuck_in_c_no_timeout"
    timeout = None


class HoldsTheGIL(BaseCronJob):
    """A database lock with an 8 s lease, and 30 s in one C call that holds the GIL
    (CRONJOBS_TEST_SLEEP overrides the 30 s); writes a row, then returns."""

    schedule = "* * * * *"
    code = "test.holds_the_gil"
    lock = "database"
    lock_ttl = timedelta(seconds=8)

    def run(self):
        marker = os.environ.get("CRONJOBS_TEST_MARKER")
        if marker:
            open(marker, "w").close()
        hold_the_gil(_sleep_seconds(30))
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        return "held the GIL"


class DiesOnFirstAttempt(BaseCronJob):
    """Attempt 1 writes a row, writes its pid to CRONJOBS_TEST_MARKER and waits to be killed
    (the test SIGKILLs that pid); attempt 2 writes a row and succeeds."""

    schedule = "* * * * *"
    code = "test.dies_on_first_attempt"
    retries = 1
    retry_delay = timedelta(0)

    def run(self):
        Effect.objects.create(job=self.code, slot=self.slot, pid=os.getpid())
        if self.attempt == 1:
            marker = os.environ["CRONJOBS_TEST_MARKER"]
            with open(marker + ".tmp", "w") as file:
                file.write(str(os.getpid()))
            os.replace(marker + ".tmp", marker)
            time.sleep(600)
        return f"attempt {self.attempt} in {os.getpid()}"


class Segfaults(BaseCronJob):
    """Prints a line, then dies of SIGSEGV in C code."""

    schedule = "* * * * *"
    code = "test.segfaults"

    def run(self):
        import ctypes

        print("about to read address 0", flush=True)  # noqa: T201  (captured)
        ctypes.string_at(0)


class OverMemory(BaseCronJob):
    """Limits its own address space (RLIMIT_AS, 1 GiB over what it maps now), then asks for 4 GiB."""

    schedule = "* * * * *"
    code = "test.over_memory"

    def run(self):
        import resource

        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (mapped + 2**30, resource.RLIM_INFINITY))
        return len(bytearray(4 * 2**30))


class ReportsItsProcess(BaseCronJob):
    """Returns the pid of the process running it, and what C-level output looks like."""

    schedule = "* * * * *"
    code = "test.reports_its_process"

    def run(self):
        os.write(1, b"written to fd 1\n")
        os.system("echo from a subprocess")
        print("printed")  # noqa: T201  (captured)
        return str(os.getpid())


class ReportsItsProcess2(ReportsItsProcess):
    code = "test.reports_its_process2"


class StuckInCNoTimeout2(StuckInCNoTimeout):
    code = "test.stuck_in_c_no_timeout2"


class StuckInCWithHooks(StuckInC):
    """StuckInC whose hooks write what they were given (outside the job's transaction)."""

    code = "test.stuck_in_c_with_hooks"

    def on_failure(self, error):
        Effect.objects.create(job=f"on_failure:{type(error).__name__}", slot=self.slot, pid=os.getpid())

    def on_finish(self, outcome):
        Effect.objects.create(job=f"on_finish:{outcome.status}", slot=self.slot, pid=os.getpid())


class HandedToCelery(HandedOff):
    """Handed to Celery workers (cronjobs.tasks.celery) on the queue CRONJOBS_TEST_CELERY_QUEUE."""

    code = "test.handed_to_celery"
    task_backend = "celery"
    task_queue = os.environ.get("CRONJOBS_TEST_CELERY_QUEUE", "default")


class HandedToCeleryFails(HandedOffFails):
    """Handed to Celery; its task fails in the worker."""

    code = "test.handed_to_celery_fails"
    task_backend = "celery"
    task_queue = os.environ.get("CRONJOBS_TEST_CELERY_QUEUE", "default")
