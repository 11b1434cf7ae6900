"""On MySQL/MariaDB, runcrons' transactions begin with START TRANSACTION, not by turning
autocommit off and on again around each one: the server's own counters tell, in a real process.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction

from cronjobs.models.transactions import explicit_begins
from tests.support.tasks import effects, enqueue

COUNTERS = """
import json
from django.db import connection, transaction

def counters():
    with connection.cursor() as cursor:
        cursor.execute(
            "SHOW SESSION STATUS WHERE Variable_name IN ('Com_set_option', 'Com_begin', 'Com_commit', 'Com_rollback')"
        )
        return {name: int(value) for name, value in cursor.fetchall()}

hooks = []
"""

DRAIN = (
    COUNTERS
    + """
from cronjobs.tasks.worker import Worker

before = counters()
drained = Worker().drain()
after = counters()
print(json.dumps({"succeeded": drained.succeeded, "failed": drained.failed, **{k: after[k] - before[k] for k in before}}))
"""
)

PASS = (
    COUNTERS
    + """
from datetime import datetime, timedelta, timezone
from cronjobs import BaseCronJob
from cronjobs.engine.runner import Runner
from tests.testapp.models import Effect

class Writes(BaseCronJob):
    code = "test.writes"
    schedule = "* * * * *"
    lock = "database"

    def run(self):
        Effect.objects.create(job=self.code)
        transaction.on_commit(lambda: hooks.append("committed"))

class Fails(BaseCronJob):
    code = "test.fails"
    schedule = "* * * * *"

    def run(self):
        Effect.objects.create(job=self.code)
        raise RuntimeError("rolled back")

jobs = {"test.writes": Writes, "test.fails": Fails}
now = datetime(2031, 1, 1, 12, 0, 30, tzinfo=timezone.utc)
Runner(jobs, now=now, supervised=False).run()  # first seen
before = counters()
outcomes = Runner(jobs, now=now + timedelta(minutes=1), supervised=False).run()
after = counters()
print(json.dumps({"statuses": [o.status for o in outcomes], "hooks": hooks, **{k: after[k] - before[k] for k in before}}))
"""
)


def report(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.processes
@pytest.mark.parametrize("project", ["mysql"], indirect=True)
def test_a_drain_on_mysql_begins_each_transaction_without_turning_autocommit_off(project):
    enqueue(project, "for i in range(20):\n    record.enqueue(f'task-{i}')\nalways_fails.enqueue('fails')")
    found = report(project.manage("shell", "-c", DRAIN))
    assert (found["succeeded"], found["failed"]) == (20, 1)
    assert found["Com_set_option"] == 0  # Django's way: SET autocommit twice per transaction
    assert found["Com_begin"] >= 21 and found["Com_commit"] >= 21
    assert effects(project, "task-%") == [f"task-{i}" for i in range(20)]


@pytest.mark.processes
@pytest.mark.parametrize("project", ["mysql"], indirect=True)
def test_a_runcrons_pass_on_mysql_begins_its_transactions_without_turning_autocommit_off(project):
    found = report(project.manage("shell", "-c", PASS))
    assert sorted(found["statuses"]) == ["failed", "succeeded"]
    assert found["Com_set_option"] == 0
    assert found["Com_begin"] >= 4  # two claims, two jobs' transactions
    assert found["Com_rollback"] >= 1  # the failed job's
    assert found["hooks"] == ["committed"]  # on_commit hooks run after the commit, as with Django's way
    kept = project.query("SELECT job FROM testapp_effect ORDER BY id")
    assert [row[0] for row in kept] == ["test.writes"]  # the failed job's write was rolled back


@pytest.mark.django_db
def test_on_other_databases_transactions_begin_as_django_begins_them():
    own = connection.__dict__.get("_start_transaction_under_autocommit")  # SQLite: the class's BEGIN
    with explicit_begins("default"):
        assert connection.__dict__.get("_start_transaction_under_autocommit") is own
        with transaction.atomic():
            assert connection.in_atomic_block
    assert connection.__dict__.get("_start_transaction_under_autocommit") is own
