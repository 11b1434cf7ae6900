"""Where runs are recorded: what fencing needs from that database."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, register

from cronjobs.checks.base import TAG


@register(TAG)
def check_fencing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Fenced records need READ COMMITTED on PostgreSQL (Django's default): under REPEATABLE READ or
    SERIALIZABLE the heartbeat's lease renewals make every job that outlives a renewal fail."""
    from django.core.checks import Warning
    from django.db import connections, router

    from cronjobs.models import Run

    alias = router.db_for_write(Run)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return []
    level = (connection.settings_dict.get("OPTIONS") or {}).get("isolation_level")
    if level is None:
        return []
    driver: Any = getattr(connection, "Database")  # noqa: B009  (psycopg or psycopg2: levels numbered differently)
    if driver.__name__ == "psycopg2":
        fine = {driver.extensions.ISOLATION_LEVEL_READ_COMMITTED, driver.extensions.ISOLATION_LEVEL_READ_UNCOMMITTED}
    else:
        fine = {driver.IsolationLevel.READ_COMMITTED, driver.IsolationLevel.READ_UNCOMMITTED}
    if level in fine:
        return []
    return [
        Warning(
            f"DATABASES[{alias!r}] (where cronjobs records runs) uses isolation level {level!r}.",
            hint="Runs renew their lease while a job's transaction is open; under REPEATABLE READ or SERIALIZABLE "
            "the job's fenced record then fails to serialize. Use READ COMMITTED (Django's default) there.",
            id="cronjobs.W019",
        )
    ]
