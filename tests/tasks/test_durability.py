"""What a drain's commits wait for: the transaction of a task that wrote something waits for the
disk (its work and its outcome are durable together); that of a task that wrote nothing holds
only the worker's record of its outcome, and commits like the worker's other records.

A real runcrons worker on a file database (SQLite in WAL mode with ``synchronous = FULL``, and
PostgreSQL with ``synchronous_commit = on``): each commit reports what it waits for on the
server and what it commits.
"""

from __future__ import annotations

import json

import pytest

from tests.support.tasks import enqueue

pytestmark = pytest.mark.processes

DRAIN = """
import json
from django.db import connection
from cronjobs.tasks.worker import Worker

commits, statements = [], []

def waits_for_the_disk():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous")
            return cursor.fetchone()[0] >= 2  # FULL or EXTRA
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0] == "on"

def traced(execute, sql, params, many, context):
    statements.append(f"{sql} {params!r}")
    return execute(sql, params, many, context)

def _commit(original=connection._commit):
    writes = [sql for sql in statements if sql.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    commits.append({"durable": waits_for_the_disk(), "writes": writes})
    statements.clear()
    return original()

connection._commit = _commit
with connection.execute_wrapper(traced):
    drained = Worker().drain()
print(json.dumps({"succeeded": drained.succeeded, "commits": commits, "after": waits_for_the_disk()}))
"""


@pytest.mark.parametrize("project", ["sqlite", "postgresql"], indirect=True)
def test_a_task_that_wrote_commits_durably_and_one_that_wrote_nothing_like_bookkeeping(project):
    env = {"CRONJOBS_TEST_SQLITE_SYNCHRONOUS": "FULL"}
    enqueue(project, "noop.enqueue(1)\nrecord.enqueue('wrote')")  # noop first: same priority, earlier
    result = project.manage("shell", "-c", DRAIN, env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["succeeded"] == 2
    outcomes = [c for c in report["commits"] if any("SUCCESSFUL" in sql for sql in c["writes"])]
    assert len(outcomes) == 2, report["commits"]
    noop, record = outcomes
    # The task that wrote: its row and its outcome in one transaction, which waits for the disk.
    assert any("testapp_effect" in sql for sql in record["writes"]), record
    assert record["durable"] is True
    # The task that wrote nothing: only the worker's own record, which does not wait.
    assert not any("testapp_effect" in sql for sql in noop["writes"]), noop
    assert noop["durable"] is False
    # The worker's connection is left as it was configured.
    assert report["after"] is True
