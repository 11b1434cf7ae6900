"""The exceptions cronjobs raises, rooted in :class:`CronJobsError`."""

from __future__ import annotations


class CronJobsError(Exception):
    """Base class of every error cronjobs raises on purpose."""


class ScheduleError(CronJobsError, ValueError):
    """A cron expression, nickname or interval that cannot define slots."""


class ConfigurationError(CronJobsError):
    """A job class or the ``CRONJOBS`` setting is wrong; the message says what to change."""


class LockError(CronJobsError):
    """A lock backend could not do its work (not: the lock is held by someone else)."""


class JobTimeout(BaseException):
    """Raised inside a job that ran past its ``timeout``.

    A ``BaseException`` so that a job's own ``except Exception`` cannot swallow it.
    """


class JobCrashed(CronJobsError):
    """What a run's ``on_failure`` hook is given when the process running it died (its work horse
    was killed by the OOM killer, segfaulted, called ``os._exit()``)."""


class Interrupted(BaseException):
    """Raised in the runner when it receives SIGTERM (SIGINT raises KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum

    def __reduce__(self) -> tuple[type[Interrupted], tuple[int]]:
        return type(self), (self.signum,)


class LeaseLost(BaseException):
    """Raised inside a job whose lease another process may now hold; it must not commit.

    A ``BaseException``, like :class:`JobTimeout`. Its subclasses say which lease.
    """


class LostClaim(LeaseLost):
    """The run's claim lapsed (the process was frozen or cut off) and another process
    declared the run crashed: the job's work rolls back, the newer verdict stands."""


class LostLock(LeaseLost):
    """The job's database or cache lock lapsed and could be taken by another process."""
