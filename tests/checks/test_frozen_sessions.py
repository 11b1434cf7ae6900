"""cronjobs.W020: the server never ends (or ends only after hours) the session of a runner frozen in its transaction."""

from __future__ import annotations

import pytest
from django.core.checks import Warning

from cronjobs.checks import check_frozen_sessions
from cronjobs.checks.database import frozen_session_warnings

PG_HINT = (
    "Set idle_in_transaction_session_timeout for the role or database cronjobs uses, above the longest time a job's "
    "transaction waits on something else (e.g. ALTER ROLE app SET idle_in_transaction_session_timeout = '10min'), "
    "and TCP keepalives (tcp_keepalives_idle) for hosts that vanish without a TCP reset."
)
MYSQL_HINT = (
    "Set wait_timeout for cronjobs' connections (e.g. DATABASES OPTIONS 'init_command': 'SET SESSION wait_timeout "
    "= 600'), above the longest time a job's transaction waits on something else"
)
FROZEN = (
    "A runner frozen inside its transaction (a paused VM, a host cut off without a TCP reset) keeps its run "
    "'running' and its job's lock held until the server ends its session: "
)


def test_postgresql_without_an_idle_in_transaction_timeout_is_w020():
    assert frozen_session_warnings("default", "postgresql", {"idle_in_transaction_session_timeout": "0"}) == [
        Warning(
            "DATABASES['default'] (where cronjobs records runs): idle_in_transaction_session_timeout is 0. "
            + FROZEN
            + "never.",
            hint=PG_HINT,
            id="cronjobs.W020",
        )
    ]


@pytest.mark.parametrize("milliseconds", ["600000", "3600000"])
def test_postgresql_with_an_idle_in_transaction_timeout_of_an_hour_or_less_passes(milliseconds):
    assert frozen_session_warnings("default", "postgresql", {"idle_in_transaction_session_timeout": milliseconds}) == []


def test_mysql_with_the_default_wait_timeout_is_w020():
    assert frozen_session_warnings("default", "mysql", {"wait_timeout": 28800}) == [
        Warning(
            "DATABASES['default'] (where cronjobs records runs): wait_timeout is 28800. " + FROZEN + "8 hours.",
            hint=MYSQL_HINT + ".",
            id="cronjobs.W020",
        )
    ]


def test_mariadb_passes_with_a_short_idle_write_transaction_timeout_or_wait_timeout():
    values = {"idle_transaction_timeout": 0, "idle_write_transaction_timeout": 600, "wait_timeout": 28800}
    assert frozen_session_warnings("default", "mariadb", values) == []
    values = {"idle_transaction_timeout": 0, "idle_write_transaction_timeout": 0, "wait_timeout": 600}
    assert frozen_session_warnings("default", "mariadb", values) == []
    values = {"idle_transaction_timeout": 0, "idle_write_transaction_timeout": 0, "wait_timeout": 28800}
    [warning] = frozen_session_warnings("default", "mariadb", values)
    assert (
        warning.id == "cronjobs.W020" and warning.hint == MYSQL_HINT + ", or MariaDB's idle_write_transaction_timeout."
    )


def test_it_reads_the_server_only_when_django_passes_databases():
    # No database access is allowed here: a query would raise.
    assert check_frozen_sessions() == []
    assert check_frozen_sessions(databases=["other"]) == []


@pytest.mark.django_db
def test_sqlite_has_nothing_to_end():
    assert check_frozen_sessions(databases=["default"]) == []
