"""Ways in from other schedulers: their configuration read as it stands, run by this engine.

- :mod:`cronjobs.peers.crontab`: django-crontab's ``CRONJOBS`` list of tuples.
- :mod:`cronjobs.peers.djangocron`: django-cron's ``CRON_CLASSES`` and its ``CronJobBase`` classes.

Each turns what it reads into ordinary :class:`~cronjobs.jobs.BaseCronJob` subclasses, which
:mod:`cronjobs.registry` adds to the jobs it finds, and lists what it could not map; the checks
of :mod:`cronjobs.checks.peers` report both.
"""
