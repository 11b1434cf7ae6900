"""The admin: the task queue (cronjobs.tasks.admin)."""

from cronjobs.tasks import admin as _tasks_admin  # noqa: F401
