"""cronjobs: scheduled background work for Django, driven by the system's cron."""

from cronjobs.decorator import cron
from cronjobs.jobs import BaseCronJob, CommandJob

__all__ = ["BaseCronJob", "CommandJob", "cron"]
__version__ = "0.1.0"

import logging as _logging

_logging.getLogger("cronjobs").addHandler(_logging.NullHandler())
