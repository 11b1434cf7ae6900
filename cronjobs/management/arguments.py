"""Argument types shared by the management commands (argparse ``type=`` functions)."""

from __future__ import annotations

import argparse

#: The largest number a command takes: every database stores and compares it (signed 32 bits).
MAX_INT = 2**31 - 1


def positive_int(value: str) -> int:
    """A whole number from 1 to :data:`MAX_INT`."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: use 1 or more")
    if number > MAX_INT:
        raise argparse.ArgumentTypeError(f"{value!r}: use at most {MAX_INT}")
    return number
