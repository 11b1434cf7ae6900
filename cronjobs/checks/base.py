"""The tag and the message helper every check module uses."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error

TAG = "cronjobs"


def error(msg: str, hint: str, id: int, obj: Any = None) -> Error:
    """``cronjobs.E<id>`` with its hint."""
    return Error(msg, hint=hint, obj=obj, id=f"cronjobs.E{id:03d}")
