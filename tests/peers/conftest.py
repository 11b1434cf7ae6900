"""The tests of the ways in from django-cron, django-crontab and django-celery-beat run against the real packages,
in the ``peers`` nox session (requirements/peers.txt). Elsewhere they are not collected; where
CRONJOBS_PEERS_REQUIRED is set (that session) a missing package is an error, never a skip."""

import importlib.util
import os

MISSING = [
    name for name in ("django_cron", "django_crontab", "django_celery_beat") if importlib.util.find_spec(name) is None
]
if MISSING and os.environ.get("CRONJOBS_PEERS_REQUIRED"):
    raise RuntimeError(f"the peers' tests need {', '.join(MISSING)}: pip install -r requirements/peers.txt")
collect_ignore_glob = ["test_*.py"] if MISSING else []
