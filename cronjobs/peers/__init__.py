"""Ways in from other schedulers: their configuration read as it stands, run by this engine.

- :mod:`cronjobs.peers.crontab`: django-crontab's ``CRONJOBS`` list of tuples.
- :mod:`cronjobs.peers.djangocron`: django-cron's ``CRON_CLASSES`` and its ``CronJobBase`` classes.
- :mod:`cronjobs.peers.celerybeat`: django-celery-beat's periodic tasks, copied into stored
  schedules by ``manage.py cronjobs import-celery-beat`` (not read at each start: they are rows).

The first two turn what they read into ordinary :class:`~cronjobs.jobs.BaseCronJob` subclasses, which
:mod:`cronjobs.registry` adds to the jobs it finds, and list what they could not map; the checks
of :mod:`cronjobs.checks.peers` report both.
"""
