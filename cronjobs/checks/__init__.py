"""System checks: every mistake in a job class or in ``CRONJOBS`` is reported before anything runs.

One module per concern; each registers its checks under :data:`TAG` when imported (``ready()``
imports this package). ``runcrons`` runs only these checks.
"""

from cronjobs.checks.base import TAG
from cronjobs.checks.database import check_fencing, check_frozen_sessions
from cronjobs.checks.install import check_install_settings, check_python_crontab
from cronjobs.checks.job_api import check_job_api
from cronjobs.checks.jobs import check_jobs, check_task_backends
from cronjobs.checks.lockdir import check_lock_dir
from cronjobs.checks.locks import check_lock_cache
from cronjobs.checks.metrics import check_metrics_view
from cronjobs.checks.modules import check_modules
from cronjobs.checks.monitors import check_monitors
from cronjobs.checks.operations import check_operations
from cronjobs.checks.peers import check_cron_classes, check_crontab_entries
from cronjobs.checks.settings import check_settings

__all__ = [
    "TAG",
    "check_cron_classes",
    "check_crontab_entries",
    "check_fencing",
    "check_frozen_sessions",
    "check_install_settings",
    "check_job_api",
    "check_jobs",
    "check_lock_cache",
    "check_lock_dir",
    "check_metrics_view",
    "check_modules",
    "check_monitors",
    "check_operations",
    "check_python_crontab",
    "check_settings",
    "check_task_backends",
]
