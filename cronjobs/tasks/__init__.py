"""One-off background tasks through Django's Tasks API, stored in the database, drained by runcrons.

``TASKS = {"default": {"BACKEND": "cronjobs.tasks.DatabaseBackend"}}``
"""

from __future__ import annotations

from typing import Any

__all__ = ["DatabaseBackend", "task_options"]


def __getattr__(name: str) -> Any:
    # Lazy: Django imports backends while apps load; the backend imports the models.
    if name == "DatabaseBackend":
        from cronjobs.tasks.backend import DatabaseBackend

        return DatabaseBackend
    if name == "task_options":
        from cronjobs.tasks.options import task_options

        return task_options
    raise AttributeError(name)
