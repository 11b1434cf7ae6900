"""Tasks seen from outside the processes that run them: enqueue through the public API, read the table."""

from __future__ import annotations

import json

TABLE = "cronjobs_tasks_queuedtask"


def enqueue(project, code: str) -> None:
    """Enqueue tasks in a separate process, through the public API."""
    result = project.manage("shell", "-c", "from tests.testapp.tasks import *\n" + code)
    assert result.returncode == 0, result.stderr


def effects(project, like: str = "%") -> list[str]:
    return [row[0] for row in project.query("SELECT job FROM testapp_effect WHERE job LIKE ? ORDER BY id", (like,))]


def task_rows(project, where: str = "1=1", params: tuple = ()) -> list[dict]:
    columns = ("status", "attempts", "errors", "worker_ids", "return_value")
    rows = project.query(f"SELECT {', '.join(columns)} FROM {TABLE} WHERE {where}", params)
    found = []
    for row in rows:
        item = dict(zip(columns, row, strict=True))
        for key in ("errors", "worker_ids", "return_value"):
            if isinstance(item[key], str):
                item[key] = json.loads(item[key])
        found.append(item)
    return found
