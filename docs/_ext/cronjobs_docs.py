"""The reference tables of the docs, generated from the code at build time (see reference_data).

Directives (in a MyST page: a fenced block ```` ```{cronjobs-settings} ````):

- ``cronjobs-checks``: every system-check id, its level, its messages and hints as the code writes them;
- ``cronjobs-settings``: every key of ``CRONJOBS`` with its default and the comment above it;
- ``cronjobs-job-attributes`` (``:methods:`` for the methods): the job class API and its docstrings;
- ``cronjobs-metrics``: the metrics of the Prometheus view;
- ``cronjobs-statuses``: the statuses of a run, with meanings given as the directive's content;
- ``cronjobs-command NAME`` (``runcrons``, ``cronjobs list``...): usage and options of one command.
  A command or subcommand that no page renders is a warning, so a new one cannot go unlisted.
"""

from __future__ import annotations

import re
from typing import Any

import reference_data
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

_INLINE = re.compile(r":(?:meth|func|class|mod|data|attr):`~?([^`]+)`|``([^`]+)``|`([^`]+)`")


def inline(text: str) -> list[nodes.Node]:
    """Plain text with ``code`` (and `code`, and :role:`target`) as literals."""
    found: list[nodes.Node] = []
    position = 0
    for match in _INLINE.finditer(text):
        if match.start() > position:
            found.append(nodes.Text(text[position : match.start()]))
        role, double, single = match.groups()
        if role is not None:
            found.append(nodes.literal(text=f"{role}()" if match.group(0).startswith(":meth:") else role))
        else:
            found.append(nodes.literal(text=double if double is not None else single))
        position = match.end()
    if position < len(text):
        found.append(nodes.Text(text[position:]))
    return found


Cell = str | list[nodes.Node] | nodes.Node


def _cell(value: Cell) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(value, str):
        entry += nodes.paragraph("", "", *inline(value))
    elif isinstance(value, nodes.Node):
        entry += value
    else:
        entry += nodes.paragraph("", "", *value)
    return entry


def table(headers: list[str], rows: list[list[Cell]], widths: list[int]) -> nodes.table:
    result = nodes.table(classes=["cronjobs-reference"])
    group = nodes.tgroup(cols=len(headers))
    result += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for header in headers:
        row += _cell(header)
    head += row
    body = nodes.tbody()
    group += body
    for values in rows:
        row = nodes.row()
        for value in values:
            row += _cell(value)
        body += row
    return result


def code(text: str, ids: list[str] | None = None) -> nodes.paragraph:
    return nodes.paragraph("", "", nodes.literal(text=text), ids=ids or [])


def lines(texts: list[str]) -> list[nodes.Node]:
    """Several messages in one cell: one paragraph each."""
    return [nodes.paragraph("", "", *inline(text)) for text in texts]


def _anchor(text: str) -> str:
    return nodes.make_id(text)


class Checks(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        rows: list[list[Cell]] = []
        for check in reference_data.checks().values():
            ident = nodes.container("", code(check.id, ids=[_anchor(check.id)]), nodes.paragraph(text=check.level))
            said = nodes.container("", *lines(check.messages))
            for hint in check.hints:
                said += nodes.paragraph("", "", nodes.emphasis(text="Hint: "), *inline(hint))
            said += nodes.paragraph("", "", nodes.Text("in "), *_joined(check.modules))
            rows.append([ident, said])
        return [table(["id", "message, hint, and where it is checked"], rows, [18, 82])]


class Settings(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        rows: list[list[Cell]] = [
            [code(s.key, ids=[_anchor(f"setting-{s.key}")]), code(s.default), s.description]
            for s in reference_data.settings()
        ]
        return [table(["key", "default", "meaning"], rows, [20, 22, 58])]


class JobAttributes(SphinxDirective):
    option_spec = {"methods": directives.flag}

    def run(self) -> list[nodes.Node]:
        methods = "methods" in self.options
        rows: list[list[Cell]] = []
        for attribute in reference_data.job_attributes():
            if (attribute.kind == "method") != methods:
                continue
            name = attribute.signature or attribute.name
            where = attribute.owner
            if methods:
                rows.append([code(name, ids=[_anchor(f"job-{attribute.name}")]), attribute.description])
            else:
                rows.append(
                    [
                        code(name, ids=[_anchor(f"job-{attribute.name}")]),
                        code(attribute.default),
                        attribute.description + ("" if where == "BaseCronJob" else f" ({where} only.)"),
                    ]
                )
        if methods:
            return [table(["method", "what it does"], rows, [25, 75])]
        return [table(["attribute", "default", "meaning"], rows, [20, 22, 58])]


class Metrics(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        rows: list[list[Cell]] = [[code(m.name), _joined(m.labels), m.description] for m in reference_data.metrics()]
        return [table(["metric", "labels", "what"], rows, [45, 15, 40])]


def _joined(labels: list[str]) -> list[nodes.Node]:
    """``a``, ``b``: literals separated by commas."""
    found: list[nodes.Node] = []
    for index, label in enumerate(labels):
        if index:
            found.append(nodes.Text(", "))
        found.append(nodes.literal(text=label))
    return found


class Statuses(SphinxDirective):
    """The run statuses from the code, each with the meaning given as ``value: meaning`` lines
    of the directive's content; a status without a meaning (or a meaning of no status) warns."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        meanings = {}
        for line in self.content:
            if line.strip():
                value, _, meaning = line.partition(":")
                meanings[value.strip()] = meaning.strip()
        known = reference_data.statuses()
        rows: list[list[Cell]] = []
        for status in known:
            if status.value not in meanings:
                logger.warning("run status %r has no meaning here", status.value, location=self.get_location())
            rows.append([status.word, code(status.value), meanings.get(status.value, "")])
        for value in set(meanings) - {s.value for s in known}:
            logger.warning("%r is not a run status", value, location=self.get_location())
        return [table(["status", "stored and in --json", "meaning"], rows, [16, 18, 66])]


class Command(SphinxDirective):
    required_arguments = 1
    final_argument_whitespace = True

    def run(self) -> list[nodes.Node]:
        name = " ".join(self.arguments[0].split())
        known = {c.name: c for c in _commands(self.env)}
        if name not in known:
            logger.warning("unknown command %r (known: %s)", name, ", ".join(known), location=self.get_location())
            return []
        rendered = self.env.cronjobs_commands_rendered  # type: ignore[attr-defined]
        rendered.setdefault(name, self.env.docname)
        command = known[name]
        result: list[nodes.Node] = []
        if command.help:
            result.append(nodes.paragraph("", "", *inline(command.help)))
        result.append(nodes.literal_block(command.usage, command.usage, language="text"))
        if command.options:
            rows: list[list[Cell]] = []
            for option in command.options:
                details = option.help
                if option.choices:
                    details += f" Choices: {option.choices}."
                rows.append([code(option.names), code(option.default) if option.default else "", details])
            result.append(table(["argument", "default", "meaning"], rows, [28, 14, 58]))
        return result


def _commands(env: Any) -> list[reference_data.Command]:
    cached = getattr(env, "_cronjobs_commands", None)
    if cached is None:
        cached = env._cronjobs_commands = reference_data.commands()
    return cached


def _setup_django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=[
                "django.contrib.contenttypes",
                "django.contrib.auth",
                "cronjobs",
                "cronjobs.tasks",
            ],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            USE_TZ=True,
            TIME_ZONE="UTC",
        )
        django.setup()


def _env_init(app: Sphinx, env: Any, docnames: list[str]) -> None:
    if not hasattr(env, "cronjobs_commands_rendered"):
        env.cronjobs_commands_rendered = {}
    for docname in docnames:  # pages being read again render their commands again
        for name, where in list(env.cronjobs_commands_rendered.items()):
            if where == docname:
                del env.cronjobs_commands_rendered[name]


def _merge(app: Sphinx, env: Any, docnames: set[str], other: Any) -> None:
    env.cronjobs_commands_rendered.update(getattr(other, "cronjobs_commands_rendered", {}))


def _check_all_commands(app: Sphinx, env: Any) -> None:
    rendered = getattr(env, "cronjobs_commands_rendered", {})
    for command in _commands(env):
        if command.name not in rendered:
            logger.warning("command %r is in the code but on no page (add a cronjobs-command directive)", command.name)


def setup(app: Sphinx) -> dict[str, Any]:
    _setup_django()
    app.add_directive("cronjobs-checks", Checks)
    app.add_directive("cronjobs-settings", Settings)
    app.add_directive("cronjobs-job-attributes", JobAttributes)
    app.add_directive("cronjobs-metrics", Metrics)
    app.add_directive("cronjobs-command", Command)
    app.add_directive("cronjobs-statuses", Statuses)
    app.connect("env-before-read-docs", _env_init)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check_all_commands)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
