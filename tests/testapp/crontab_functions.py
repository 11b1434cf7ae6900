"""The functions of django-crontab's README (``myapp.cron.my_scheduled_job`` and co.): each call
leaves one Effect row naming the call, so counting rows proves how often, and with what, it ran."""

from __future__ import annotations

import sys

from tests.testapp.models import Effect


def my_scheduled_job():
    Effect.objects.create(job="my_scheduled_job()")


def other_scheduled_job(*args, **kwargs):
    Effect.objects.create(job=f"other_scheduled_job{args!r}{kwargs!r}")


def prints(word):
    sys.stdout.write(f"printed {word}\n")
