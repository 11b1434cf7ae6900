from django.apps import AppConfig


class CronJobsConfig(AppConfig):
    name = "cronjobs"
    verbose_name = "Cron jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cronjobs import checks, signals  # noqa: F401  (checks: registers the system checks)
        from cronjobs.ops import notices

        signals.run_started.connect(notices.on_run_started, dispatch_uid="cronjobs.notices.start")
        signals.run_finished.connect(notices.on_run_finished, dispatch_uid="cronjobs.notices.finish")
        self._stored_schedules_refresh_the_registry()

    def _stored_schedules_refresh_the_registry(self) -> None:
        """A stored schedule saved or deleted in this process is a job, changed, at once."""
        from django.db.models.signals import post_delete, post_save

        from cronjobs import registry
        from cronjobs.models import StoredSchedule

        def refresh(**kwargs: object) -> None:
            registry.refresh()

        post_save.connect(refresh, sender=StoredSchedule, weak=False, dispatch_uid="cronjobs.stored.save")
        post_delete.connect(refresh, sender=StoredSchedule, weak=False, dispatch_uid="cronjobs.stored.delete")
