"""Argument types shared by the management commands (argparse ``type=`` functions)."""

from __future__ import annotations

import argparse


def positive_int(value: str) -> int:
    """A whole number of 1 or more."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: use 1 or more")
    return number
