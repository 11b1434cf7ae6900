"""python-crontab, loaded only when ``installcrons`` needs it, and found even when shadowed.

python-crontab installs a top-level module ``crontab.py``. The PyPI package ``crontab``
(parse-crontab, which ``rq-scheduler`` and so ``django-tasks-rq`` require) installs a
``crontab/`` package into the same directory, and Python imports a package before a module of
the same name: with both installed, in either order, ``import crontab`` gives parse-crontab.

So nothing in cronjobs imports ``crontab`` at start-up (jobs, tasks, the admin and every other
command work with the conflict), and :func:`load` is the one place that does: it returns
python-crontab's module, imported normally when nothing shadows it, else loaded from the file
python-crontab's distribution installed (under a private name, so the shadowing package keeps
the name ``crontab`` for whoever uses it). :func:`diagnose` says what shadows it and how to
resolve that; the system check cronjobs.I170 (W171 when python-crontab is missing) and ``installcrons`` report it.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from cronjobs.exceptions import CronJobsError

DISTRIBUTION = "python-crontab"
#: The name python-crontab's module gets when loaded from its file beside a shadowing package.
PRIVATE_NAME = "cronjobs.install._python_crontab"
#: What python-crontab's module has that no other ``crontab`` module does.
API = ("CronTab", "CronItem")


class PythonCrontabUnavailable(CronJobsError):
    """python-crontab cannot be imported; the message names the cause and the fix."""


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """Which ``crontab`` module ``import crontab`` gives, and whether it is python-crontab's."""

    shadowed_by: str | None
    """The distribution (name and version) whose ``crontab`` wins over python-crontab's; None when none."""
    python_crontab_file: Path | None
    """python-crontab's ``crontab.py`` on disk; None when python-crontab is not installed."""
    module_file: str | None
    """The file ``import crontab`` loads (or would load)."""

    @property
    def hint(self) -> str:
        """How to resolve the conflict, or to install python-crontab."""
        if self.python_crontab_file is None:
            return "Install it: pip install python-crontab (a dependency of cronjobs, needed by installcrons only)."
        return (
            f"installcrons loads python-crontab from {self.python_crontab_file} and works anyway; "
            f"other code that does `import crontab` gets {self.shadowed_by}. If nothing needs "
            f"{_name(self.shadowed_by)} (rq-scheduler's cron-string jobs do), `pip uninstall "
            f"{_name(self.shadowed_by)}`; else keep both and add 'cronjobs.I170' to SILENCED_SYSTEM_CHECKS."
        )


def _name(distribution: str | None) -> str:
    return (distribution or "crontab").split(" ", 1)[0]


def _python_crontab_file() -> Path | None:
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if str(file) == "crontab.py":
            path = Path(str(dist.locate_file(file)))
            return path if path.is_file() else None
    return None


def _shadowing_distribution(module_file: str | None) -> str | None:
    """The installed distribution other than python-crontab that provides top-level ``crontab``."""
    for name in importlib.metadata.packages_distributions().get("crontab", []):
        if name.lower().replace("_", "-") == DISTRIBUTION:
            continue
        try:
            return f"{name} {importlib.metadata.version(name)}"
        except importlib.metadata.PackageNotFoundError:
            return name
    return f"the module at {module_file}" if module_file else "another module named crontab"


def diagnose() -> Diagnosis:
    """What ``import crontab`` would give, without importing anything."""
    spec = importlib.util.find_spec("crontab") if "crontab" not in sys.modules else sys.modules["crontab"].__spec__
    module_file = spec.origin if spec is not None else None
    own = _python_crontab_file()
    if own is not None and module_file is not None and Path(module_file).resolve() == own.resolve():
        return Diagnosis(None, own, module_file)
    if own is None and module_file is None:
        return Diagnosis(None, None, None)
    return Diagnosis(_shadowing_distribution(module_file) if module_file else None, own, module_file)


def load() -> ModuleType:
    """python-crontab's module (cached); :class:`PythonCrontabUnavailable` when it is not installed."""
    if PRIVATE_NAME in sys.modules:
        return sys.modules[PRIVATE_NAME]
    found = diagnose()
    if found.shadowed_by is None and found.python_crontab_file is not None:
        import crontab

        if all(hasattr(crontab, name) for name in API):
            return crontab
    if found.python_crontab_file is None:
        cause = f"`import crontab` gives {found.shadowed_by}, and " if found.shadowed_by else ""
        raise PythonCrontabUnavailable(f"{cause}python-crontab is not installed. {found.hint}")
    spec = importlib.util.spec_from_file_location(PRIVATE_NAME, found.python_crontab_file)
    if spec is None or spec.loader is None:  # pragma: no cover - a file spec always has a loader
        raise PythonCrontabUnavailable(f"cannot load python-crontab from {found.python_crontab_file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[PRIVATE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[PRIVATE_NAME]
        raise PythonCrontabUnavailable(
            f"python-crontab at {found.python_crontab_file} failed to load ({exc}); "
            f"`import crontab` gives {found.shadowed_by}. {found.hint}"
        ) from exc
    return module
