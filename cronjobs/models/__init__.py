"""What runcrons remembers, and every change of it.

Each model's queryset owns the changes of its state (:class:`~cronjobs.models.jobs.JobQuerySet`,
:class:`~cronjobs.models.runs.RunQuerySet`, :class:`~cronjobs.models.actions.ActionQuerySet`);
the engine, the commands, the admin and the notices call them. Schedules edited in the admin
are rows too (:class:`~cronjobs.models.stored.StoredSchedule`). The lease rows of the database
lock live with the locks (:mod:`cronjobs.locks.models`).
"""

from cronjobs.locks.models import Lease
from cronjobs.models.actions import Action
from cronjobs.models.jobs import Job
from cronjobs.models.maintenance import Maintenance
from cronjobs.models.runs import FAILURES, NOT_RUNS, Run
from cronjobs.models.stored import StoredSchedule

__all__ = ["FAILURES", "NOT_RUNS", "Action", "Job", "Lease", "Maintenance", "Run", "StoredSchedule"]
