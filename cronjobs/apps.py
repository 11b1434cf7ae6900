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
