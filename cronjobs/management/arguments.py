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


def non_negative_float(value: str) -> float:
    """A number of seconds from 0 to a day."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0 <= number <= 86_400:  # NaN fails both
        raise argparse.ArgumentTypeError(f"{value!r}: use 0 to 86400 seconds")
    return number
