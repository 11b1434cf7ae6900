"""The tag and the message helper every check module uses."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error

TAG = "cronjobs"


def error(msg: str, hint: str, id: int, obj: Any = None) -> Error:
    """``cronjobs.E<id>`` with its hint."""
    return Error(msg, hint=hint, obj=obj, id=f"cronjobs.E{id:03d}")


def where(job: type) -> str:
    """``Nightly (code 'billing.Nightly', app billing, billing/cron.py:12)``: which job, and where to fix it."""
    import inspect
    import os

    from django.apps import apps

    parts = []
    try:
        parts.append(f"code {job.get_code()!r}")  # type: ignore[attr-defined]
    except Exception:  # a broken code is itself reported
        pass
    app = apps.get_containing_app_config(job.__module__)
    if app is not None:
        parts.append(f"app {app.label}")
    try:
        path = inspect.getsourcefile(job)
        line = inspect.getsourcelines(job)[1]
    except (OSError, TypeError):
        path = None
    if path:
        relative = os.path.relpath(path) if os.path.splitdrive(path)[0] == os.path.splitdrive(os.getcwd())[0] else path
        path = path if relative.startswith("..") else relative
        parts.append(f"{path}:{line}")
    return f"{job.__qualname__} ({', '.join(parts)})" if parts else job.__qualname__
