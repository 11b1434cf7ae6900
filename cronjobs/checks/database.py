"""Where runs are recorded: what fencing needs from that database, and what ends a frozen runner's session."""

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


#: The longest a runner frozen inside its transaction may keep its row locks before the server
#: ends its session (seconds) without a warning: its run stays ``running``, and its job's
#: database lock held, that long (crash recovery skips its rows meanwhile).
MAX_FROZEN_SESSION = 3600

#: The settings that end a session frozen inside its transaction, by server, as they are read.
_SESSION_SETTINGS = {
    "postgresql": ["idle_in_transaction_session_timeout"],  # milliseconds, 0: never
    "mariadb": ["idle_transaction_timeout", "idle_write_transaction_timeout", "wait_timeout"],  # seconds, 0: never
    "mysql": ["wait_timeout"],  # seconds
}


@register(TAG, "database")
def check_frozen_sessions(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when the server never ends (or ends only after hours) the session of a runner frozen
    inside its transaction. Reads the server's settings, so it runs only where Django passes
    ``databases`` (``manage.py check --database default``, ``migrate``)."""
    from django.db import DatabaseError, connections, router

    from cronjobs.models import Run

    alias = router.db_for_write(Run)
    if not databases or alias not in databases:
        return []
    connection = connections[alias]
    server = "mariadb" if getattr(connection, "mysql_is_mariadb", False) else connection.vendor
    names = _SESSION_SETTINGS.get(server)
    if names is None:
        return []
    try:
        with connection.cursor() as cursor:
            if server == "postgresql":
                cursor.execute("SELECT setting FROM pg_settings WHERE name = 'idle_in_transaction_session_timeout'")
            else:
                cursor.execute("SELECT " + ", ".join(f"@@{name}" for name in names))
            values = dict(zip(names, cursor.fetchone(), strict=True))
    except DatabaseError:
        return []  # not reachable now: the checks that need a database say so
    return frozen_session_warnings(alias, server, values)


def frozen_session_warnings(alias: str, server: str, values: dict[str, Any]) -> list[CheckMessage]:
    """``cronjobs.W020`` when ``values`` (the server's settings, as read) let a session frozen inside
    its transaction live longer than :data:`MAX_FROZEN_SESSION`."""
    from django.core.checks import Warning

    if server == "postgresql":
        bound = _seconds(values["idle_in_transaction_session_timeout"], 0.001)
        said = f"idle_in_transaction_session_timeout is {values['idle_in_transaction_session_timeout']}"
        hint = (
            "Set idle_in_transaction_session_timeout for the role or database cronjobs uses, above the longest "
            "time a job's transaction waits on something else (e.g. ALTER ROLE app SET "
            "idle_in_transaction_session_timeout = '10min'), and TCP keepalives (tcp_keepalives_idle) for hosts "
            "that vanish without a TCP reset."
        )
    else:
        timeouts = [_seconds(values.get(name), 1.0) for name in _SESSION_SETTINGS[server]]
        known = [t for t in timeouts if t is not None]
        bound = min(known) if known else None
        said = ", ".join(f"{name} is {values.get(name)}" for name in _SESSION_SETTINGS[server])
        hint = (
            "Set wait_timeout for cronjobs' connections (e.g. DATABASES OPTIONS 'init_command': "
            "'SET SESSION wait_timeout = 600'), above the longest time a job's transaction waits on something else"
            + (", or MariaDB's idle_write_transaction_timeout." if server == "mariadb" else ".")
        )
    if bound is not None and bound <= MAX_FROZEN_SESSION:
        return []
    return [
        Warning(
            f"DATABASES[{alias!r}] (where cronjobs records runs): {said}. A runner frozen inside its transaction "
            "(a paused VM, a host cut off without a TCP reset) keeps its run 'running' and its job's lock held "
            "until the server ends its session: " + ("never." if bound is None else f"{bound / 3600:g} hours."),
            hint=hint,
            id="cronjobs.W020",
        )
    ]


def _seconds(value: Any, unit: float) -> float | None:
    """A server timeout as seconds; None for 0 (never) or a value that cannot be read."""
    try:
        number = float(value) * unit
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
