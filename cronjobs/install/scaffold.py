"""Writing a new job class into an app's ``cron.py`` from the ``management_templates/*.py-tpl`` scaffolds.

The templates ship inside the wheel as ``cronjobs/management_templates/``; in a source
checkout they live at the repository root. They are rendered, never imported.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import keyword
from pathlib import Path

from django.template import Context, Engine

from cronjobs.exceptions import CronJobsError, ScheduleError
from cronjobs.registry import MODULE_NAME
from cronjobs.schedules import CronSchedule

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_SCHEDULE = "@hourly"


class ScaffoldError(CronJobsError):
    """The job cannot be added; the message says why."""


@dataclasses.dataclass(frozen=True)
class Scaffolded:
    """What :func:`add_job` did."""

    path: Path
    class_name: str
    code: str
    created: bool
    """True when ``cron.py`` did not exist before."""


def templates_dir() -> Path:
    """Where the ``*.py-tpl`` files are: inside the installed package, or at the checkout's root."""
    for candidate in (PACKAGE_DIR / "management_templates", PACKAGE_DIR.parent / "management_templates"):
        if (candidate / "job.py-tpl").is_file():
            return candidate
    raise ScaffoldError(f"the scaffolding templates are missing from {PACKAGE_DIR} (a broken installation?)")


def class_name(name: str) -> str:
    """``name`` as a class name: ``refresh_prices`` -> ``RefreshPrices``; refuses non-identifiers."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is not a valid Python identifier; use a class name such as RefreshPrices")
    if name[0].isupper():
        return name
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def add_job(
    app_label: str, app_path: Path, name: str, *, schedule: str = DEFAULT_SCHEDULE, taken: set[str]
) -> Scaffolded:
    """Add a job class named ``name`` to ``<app_path>/cron.py`` (created when missing).

    ``taken`` holds the codes of the jobs registered now: the new one must not reuse one.
    Refuses to touch a ``cron.py`` that does not parse or already has a class of that name.
    """
    cls = class_name(name)
    try:
        CronSchedule(schedule, "UTC")
    except ScheduleError as exc:
        raise ScaffoldError(f"--schedule: {exc}") from None
    code = f"{app_label}.{cls}"
    if code in taken:
        raise ScaffoldError(f"a job with code {code!r} is registered already; choose another name")
    path = app_path / f"{MODULE_NAME}.py"
    context = {"app_label": app_label, "class_name": cls, "schedule": json.dumps(schedule), "code": code}
    job = _render("job.py-tpl", context)
    if not path.exists():
        path.write_text(f"{_render('cron.py-tpl', context).rstrip()}\n\n\n{job.rstrip()}\n", encoding="utf-8")
        return Scaffolded(path, cls, code, created=True)
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ScaffoldError(f"{path} does not parse (line {exc.lineno}: {exc.msg}); fix it first") from None
    if any(isinstance(node, ast.ClassDef) and node.name == cls for node in tree.body):
        raise ScaffoldError(f"{path} already has a class {cls}; choose another name")
    source = _with_import(source, tree)
    path.write_text(f"{source.rstrip()}\n\n\n{job.rstrip()}\n", encoding="utf-8")
    return Scaffolded(path, cls, code, created=False)


def _render(template: str, context: dict[str, str]) -> str:
    text = (templates_dir() / template).read_text(encoding="utf-8")
    return Engine().from_string(text).render(Context(context, autoescape=False))


def _with_import(source: str, tree: ast.Module) -> str:
    """``source`` with ``from cronjobs import BaseCronJob`` added after its imports, unless it has it."""
    bound = {
        (alias.asname or alias.name) for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    if "BaseCronJob" in bound:
        return source
    lines = source.splitlines(keepends=True)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    if imports:
        at = max(node.end_lineno or node.lineno for node in imports)
    elif tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        at = tree.body[0].end_lineno or 1  # after the module docstring
    else:
        at = 0
    before, after = lines[:at], lines[at:]
    if before and not before[-1].endswith("\n"):
        before[-1] += "\n"
    block = "from cronjobs import BaseCronJob\n"
    if at and not imports:
        block = "\n" + block
    return "".join(before) + block + "".join(after)
