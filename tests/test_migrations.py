"""Every model change has its migration: for cronjobs and for its tasks app."""

from __future__ import annotations

import pytest
from django.core.management import call_command


@pytest.mark.django_db
@pytest.mark.parametrize("app", ["cronjobs", "cronjobs_tasks"])
def test_the_models_and_the_migrations_agree(app):
    call_command("makemigrations", app, "--check", "--dry-run", "--skip-checks", verbosity=0)  # exits 1 otherwise
