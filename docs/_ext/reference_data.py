"""What the reference pages list, read from the code: check ids, settings, job attributes,
commands and metrics. No Sphinx here: ``cronjobs_docs`` renders these, and tests/test_docs.py
checks the docs against them.

Check messages, settings comments and metric descriptions are read from the source (``ast``),
so nothing has to be set up to list them; the commands are read from their argparse parsers,
which needs Django configured (:func:`commands`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "cronjobs"
#: Where system checks are defined: the checks package, and the one-off tasks app's checks.
CHECK_SOURCES = [
    *sorted((PACKAGE / "checks").glob("*.py")),
    PACKAGE / "tasks" / "checks.py",
    PACKAGE / "tasks" / "celery.py",
]
CHECK_ID = re.compile(r"cronjobs\.([CEWID])(\d{3})")
LEVELS = {"C": "critical", "E": "error", "W": "warning", "I": "info", "D": "debug"}


def _text(node: ast.expr | None) -> str | None:
    """A string literal or f-string as written, each ``{expression}`` shown as ``{expression}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append(_placeholder(value.value))
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None or right is None else left + right
    if node is not None:
        return _placeholder(node)
    return None


def _placeholder(node: ast.expr) -> str:
    """``{name}`` for what a message fills in: the expression when it is a plain name or
    attribute (``{job.catchup}``), else ``{...}`` (a computed list of choices, say)."""
    text = ast.unparse(node)
    return "{" + text + "}" if re.fullmatch(r"[\w.]+(\(\))?", text) else "{...}"


@dataclass
class Check:
    id: str  # cronjobs.E001
    messages: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)

    @property
    def level(self) -> str:
        return LEVELS[self.id.split(".")[1][0]]


#: Helpers of the check modules that build a message from (msg, hint, id): the letter their id gets.
_HELPERS = {"error": "E", "add": "E", "warning": "W"}
_CLASSES = {"Error": "E", "Warning": "W", "Info": "I", "Critical": "C", "Debug": "D"}


def _check_calls(call: ast.Call, loops: dict[str, list[int]]) -> list[tuple[str, ast.expr | None, ast.expr | None]]:
    """(id, message node, hint node) for each id a call that builds a check message can report:
    one, or one per value of a loop variable (``for name, id in (("between", 191), ...)``)."""
    name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
    keywords = {k.arg: k.value for k in call.keywords}
    if name in _CLASSES and "id" in keywords:
        ident = keywords["id"]
        if isinstance(ident, ast.Constant) and isinstance(ident.value, str):
            return [(ident.value, call.args[0] if call.args else keywords.get("msg"), keywords.get("hint"))]
        return []
    if name in _HELPERS and len(call.args) >= 3:
        number = call.args[2]
        if isinstance(number, ast.Constant) and isinstance(number.value, int):
            return [(f"cronjobs.{_HELPERS[name]}{number.value:03d}", call.args[0], call.args[1])]
        if isinstance(number, ast.Name) and number.id in loops:
            return [(f"cronjobs.{_HELPERS[name]}{n:03d}", call.args[0], call.args[1]) for n in loops[number.id]]
    return []


def _loop_values(loop: ast.For) -> dict[str, list[int]]:
    """The int values each variable of ``for a, b in ((x, 1), (y, 2))`` takes."""
    found: dict[str, list[int]] = {}
    if isinstance(loop.target, ast.Tuple) and isinstance(loop.iter, (ast.Tuple, ast.List)):
        for position, variable in enumerate(loop.target.elts):
            values = [
                item.elts[position].value
                for item in loop.iter.elts
                if isinstance(item, ast.Tuple)
                and len(item.elts) > position
                and isinstance(item.elts[position], ast.Constant)
                and isinstance(item.elts[position].value, int)
            ]
            if isinstance(variable, ast.Name) and values and len(values) == len(loop.iter.elts):
                found[variable.id] = values
    return found


def check_calls(tree: ast.AST) -> list[tuple[ast.Call, list[tuple[str, ast.expr | None, ast.expr | None]]]]:
    """Every call of a module that may build a check message, with what it reports."""
    loops: dict[int, dict[str, list[int]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.For):
            values = _loop_values(node)
            for inner in ast.walk(node):
                loops.setdefault(id(inner), {}).update(values)
    return [
        (node, _check_calls(node, loops.get(id(node), {}))) for node in ast.walk(tree) if isinstance(node, ast.Call)
    ]


def checks() -> dict[str, Check]:
    """Every check id the code can report, with its messages and hints as written, by id."""
    found: dict[str, Check] = {}
    for path in CHECK_SOURCES:
        module = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
        reported = [r for _call, each in check_calls(ast.parse(path.read_text())) for r in each]
        for ident, message, hint in reported:
            check = found.setdefault(ident, Check(ident))
            for values, text in ((check.messages, _text(message)), (check.hints, _text(hint))):
                if text and text not in values:
                    values.append(text)
            if module not in check.modules:
                check.modules.append(module)
    return dict(sorted(found.items(), key=lambda item: (int(item[0][-3:]), item[0])))


def check_ids_in(path: Path) -> set[str]:
    """Every ``cronjobs.X000`` id named in a source file (also in docstrings and comments)."""
    return {f"cronjobs.{letter}{number}" for letter, number in CHECK_ID.findall(path.read_text())}


@dataclass
class Setting:
    key: str
    default: str  # as written in the source
    description: str


def settings() -> list[Setting]:
    """The keys of ``CRONJOBS`` (``cronjobs.conf.DEFAULTS``), each with its default and the
    comment above it."""
    source = (PACKAGE / "conf.py").read_text()
    lines = source.splitlines()
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "DEFAULTS":
            assert isinstance(node.value, ast.Dict)
            found = []
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                assert isinstance(key, ast.Constant)
                comment = []
                row = key.lineno - 2
                while row >= 0 and lines[row].strip().startswith("#"):
                    comment.insert(0, lines[row].strip().lstrip("#").strip())
                    row -= 1
                found.append(Setting(key.value, ast.get_source_segment(source, value) or "", " ".join(comment)))
            return found
    raise LookupError("no DEFAULTS in cronjobs/conf.py")


@dataclass
class Attribute:
    name: str
    default: str
    description: str
    owner: str  # BaseCronJob or CommandJob
    kind: str = "attribute"  # or "method"
    signature: str = ""


def job_attributes() -> list[Attribute]:
    """The class attributes and overridable methods of ``BaseCronJob`` and ``CommandJob``, with
    their docstrings (``cronjobs/jobs.py``)."""
    source = (PACKAGE / "jobs.py").read_text()
    found: list[Attribute] = []
    for cls in ast.parse(source).body:
        if not isinstance(cls, ast.ClassDef) or cls.name not in ("BaseCronJob", "CommandJob"):
            continue
        body = cls.body
        for index, node in enumerate(body):
            following = body[index + 1] if index + 1 < len(body) else None
            doc = (
                following.value.value
                if isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
                else None
            )
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and doc and node.value:
                default = ast.get_source_segment(source, node.value) or ""
                found.append(Attribute(node.target.id, default, _one_line(doc), cls.name))
            elif isinstance(node, ast.FunctionDef) and not node.name.startswith(("_", "get_")):
                if node.decorator_list:
                    continue
                docstring = ast.get_docstring(node)
                if docstring is None or (cls.name == "CommandJob" and node.name == "run"):
                    continue
                arguments = ", ".join(a.arg for a in node.args.args[1:])
                found.append(
                    Attribute(node.name, "", _one_line(docstring), cls.name, "method", f"{node.name}({arguments})")
                )
    return found


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass
class Metric:
    name: str
    description: str
    labels: list[str]


def metrics() -> list[Metric]:
    """The metrics of the Prometheus view, as ``cronjobs/ops/metrics.py`` declares them."""
    source = (PACKAGE / "ops" / "metrics.py").read_text()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "GaugeMetricFamily":
            name, description = (_text(arg) or "" for arg in node.args[:2])
            labels = next((k.value for k in node.keywords if k.arg == "labels"), None)
            names = [_text(e) or "" for e in labels.elts] if isinstance(labels, ast.List) else []
            found.append(Metric(name, description, names))
    found.sort(key=lambda m: (not m.name.startswith("cronjobs_job_"), node_order(source, m.name)))
    return found


def node_order(source: str, name: str) -> int:
    return source.find(f'"{name}"')


#: Options every Django command has; the reference names them once, not under each command.
DJANGO_OPTIONS = {"help", "version", "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color"}
DJANGO_OPTIONS |= {"skip_checks"}
COMMANDS = ["runcrons", "installcrons", "cronjobs", "startcronjob"]


@dataclass
class Option:
    names: str  # "--workers N", or "CODE ..." for a positional
    help: str
    default: str  # "" when there is none worth saying
    choices: str = ""


@dataclass
class Command:
    name: str  # "runcrons", "cronjobs list"
    help: str
    usage: str
    options: list[Option]


def commands() -> list[Command]:
    """Every management command of cronjobs and every subcommand of ``manage.py cronjobs``, from
    their parsers. Needs Django set up (settings configured, ``django.setup()`` called)."""
    import argparse

    from django.core.management import load_command_class

    found = []
    for name in COMMANDS:
        command = load_command_class("cronjobs", name)
        parser = command.create_parser("manage.py", name)
        subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if subparsers:
            helps = {choice.dest: choice.help for choice in subparsers[0]._choices_actions}
            found.append(_command(name, command.help, parser, skip={subparsers[0].dest}))
            for sub, subparser in subparsers[0].choices.items():
                found.append(_command(f"{name} {sub}", helps.get(sub) or "", subparser))
        else:
            found.append(_command(name, command.help, parser))
    return found


def _command(name: str, help: str, parser, skip: set[str] = frozenset()) -> Command:  # type: ignore[no-untyped-def,assignment]
    import argparse

    options = []
    for action in parser._actions:
        if action.dest in DJANGO_OPTIONS or action.dest in skip or isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            metavar = "" if action.nargs == 0 else " " + (action.metavar or action.dest.upper())
            names = ", ".join(f"{option}{metavar}" for option in action.option_strings)
        else:
            names = action.metavar or action.dest
            names = f"{names} ..." if action.nargs in ("*", "+") else names
        default = action.default
        shown = "" if default in (None, False, [], argparse.SUPPRESS) or action.nargs == 0 else repr(default)
        choices = ", ".join(str(c) for c in action.choices) if action.choices else ""
        options.append(Option(names, " ".join((action.help or "").split()), shown, choices))
    # The usage line without Django's common options (named once on the page), wrapped at 88.
    for action in parser._actions:
        if action.dest in DJANGO_OPTIONS or isinstance(action, argparse._HelpAction):
            action.help = argparse.SUPPRESS
    import os

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "90"
    try:
        usage = parser.format_usage().removeprefix("usage: ").rstrip()
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return Command(name, " ".join(help.split()), usage, options)


@dataclass
class Status:
    value: str  # as stored and in --json: "timed_out"
    word: str  # as shown: "timed out"


def statuses() -> list[Status]:
    """The statuses of a run (``Run.Status``). Needs Django set up."""
    from cronjobs.models import Run

    return [Status(value, str(label)) for value, label in Run.Status.choices]
