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
    statement that opens it (Django's ``SET AUTOCOMMIT = 0``) and reading the server's reply (once)."""
    from pymysql.connections import Connection

    original = Connection.autocommit

    def autocommit(self, value):
        if value:
            return original(self, value)
        Connection.autocommit = original
        self.autocommit_mode = False
        self._execute_command(3, "SET AUTOCOMMIT = 0")  # COMMAND.COM_QUERY
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, with the reply unread
        self._read_ok_packet()

    Connection.autocommit = autocommit
