"""A signal at the worst moment, on purpose: while the database driver is reading a reply.

A real SIGTERM lands there now and then (PyMySQL and psycopg read replies in Python code, where
a signal handler runs): the handler's exception leaves the reply unread in the socket, and the
next statement on that connection would read it as its own.
"""

from __future__ import annotations

import os
import signal


def sigterm_in_next_begin() -> None:
    """The next transaction this process opens on MySQL/MariaDB gets SIGTERM between sending the
    statement that opens it and reading the server's reply (once): ``START TRANSACTION``, as the
    runner and the worker open theirs (:mod:`cronjobs.models.transactions`), or ``SET AUTOCOMMIT
    = 0``, as Django does elsewhere."""
    from pymysql.connections import Connection

    original_autocommit, original_query = Connection.autocommit, Connection.query

    def restore() -> None:
        Connection.autocommit, Connection.query = original_autocommit, original_query

    def autocommit(self, value):
        if value:
            return original_autocommit(self, value)
        restore()
        self.autocommit_mode = False
        self._execute_command(3, "SET AUTOCOMMIT = 0")  # COMMAND.COM_QUERY
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, with the reply unread
        self._read_ok_packet()

    def query(self, sql, unbuffered=False):
        text = sql.decode() if isinstance(sql, bytes) else sql
        if not text.lstrip().upper().startswith("START TRANSACTION"):
            return original_query(self, sql, unbuffered)
        restore()
        self._execute_command(3, text.encode(self.encoding))  # COMMAND.COM_QUERY
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, with the reply unread
        self._affected_rows = self._read_query_result(unbuffered=unbuffered)
        return self._affected_rows

    Connection.autocommit, Connection.query = autocommit, query
