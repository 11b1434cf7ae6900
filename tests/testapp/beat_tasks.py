"""The task of django-celery-beat's README (``proj.tasks.import_contacts``), ported to Django Tasks
at a path of its own: a periodic task naming it is imported by ``cronjobs import-celery-beat``."""

from __future__ import annotations

from cronjobs.tasks_api import task
from tests.testapp.models import Effect


@task
def import_contacts(*args, be_careful=False):
    Effect.objects.create(job=f"import_contacts{args!r} be_careful={be_careful}")


def not_a_task():
    """A plain function: still a Celery task's body, not ported."""
