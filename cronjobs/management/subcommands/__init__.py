"""The subcommands of ``manage.py cronjobs``: one module each, found here by :func:`discover`.

A module defines :class:`~cronjobs.management.subcommands.base.Subcommand` subclasses; adding a
subcommand is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil

from cronjobs.management.subcommands.base import Subcommand


def discover() -> list[Subcommand]:
    """One instance of every subcommand of this package, by name."""
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")
    found = {cls.name: cls() for cls in _subclasses(Subcommand) if cls.name}
    return [found[name] for name in sorted(found)]


def _subclasses(cls: type[Subcommand]) -> list[type[Subcommand]]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]
