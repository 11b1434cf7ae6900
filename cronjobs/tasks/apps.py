from django.apps import AppConfig


class TasksConfig(AppConfig):
    """One-off tasks stored in the database and drained by runcrons (``TASKS`` backend ``DatabaseBackend``)."""

    name = "cronjobs.tasks"
    label = "cronjobs_tasks"
    verbose_name = "Tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cronjobs.engine import loop
        from cronjobs.tasks import checks  # noqa: F401  (registers the system checks)
        from cronjobs.tasks.worker import QueueDrainer

        loop.register_drainer(QueueDrainer())
