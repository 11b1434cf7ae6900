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


class Interrupted(BaseException):
    """Raised in the runner when it receives SIGTERM (SIGINT raises KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum
