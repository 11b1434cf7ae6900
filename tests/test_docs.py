"""The docs' code samples run, and the docs agree with the code.

Every ```python block of the docs (docs/**/*.md, README.md, CONTRIBUTING.md) is executed, the
blocks of one page in order in one module (as a reader pastes them one after the other), with
a few names set up beforehand (:data:`PRELUDE`). The job classes a block defines, with the
``CRONJOBS`` it sets, then go through cronjobs' system checks: a sample that shows a mistake
fails here. Every ```sh line is checked as far as it can be without side effects: a
``manage.py`` command is parsed by that command's own parser, ``pip install "cronjobs[X]"``
must name an extra of pyproject.toml, ``make X`` a target of the Makefile, ``python FILE`` a
file of the repository. Files under docs/samples/ (included in pages with ``literalinclude``)
are run whole.

The reference pages are generated from the code by docs/_ext (built by ``nox -s docs``); the
tests below make sure what they extract is complete, and that the prose names nothing the code
does not have (check ids, commands).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import types
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import django
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from django.core import checks
from django.core.management import CommandError, load_command_class
from django.test import override_settings

from cronjobs import BaseCronJob, CommandJob, cron
from cronjobs.decorator import OPTIONS, job_of

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import reference_data  # noqa: E402

PAGES = [
    *sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts),
    ROOT / "README.md",
    ROOT / "CONTRIBUTING.md",
]
DOCS_URL = "https://cronjobs.readthedocs.io/en/latest/"


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    found, current = [], None
    for number, line in enumerate(page.read_text().splitlines(), 1):
        fence = re.match(r"^(\s*)(```+)(\S*)", line)
        if current is None and fence:
            current = Block(page, number, fence[3], "")
            indent = len(fence[1])
        elif current is not None and line.strip().startswith("```"):
            found.append(current)
            current = None
        elif current is not None:
            current.text += line[indent:] + "\n"
    return found


def _id(page: Path) -> str:
    return str(page.relative_to(ROOT))


# ----- Python samples


#: Names a sample may use without importing them (the settings module's and cron.py's usual ones).
PRELUDE = {
    "BaseCronJob": BaseCronJob,
    "CommandJob": CommandJob,
    "cron": cron,
    "timedelta": timedelta,
    "datetime": datetime,
    "UTC": timezone.utc,
    "os": __import__("os"),
    "Path": Path,
    "BASE_DIR": Path("/srv/shop"),
    "INSTALLED_APPS": ["cronjobs"],
    "pytest": pytest,
}


def _needs_django_tasks(error: ImportError) -> bool:
    return django.VERSION < (6,) and (error.name or "").startswith("django.tasks")


@pytest.mark.parametrize("page", [p for p in PAGES if any(b.language == "python" for b in blocks(p))], ids=_id)
def test_the_python_samples_of_a_page_run_and_their_jobs_pass_the_checks(page, monkeypatch):
    name = "docs_sample_" + re.sub(r"\W", "_", str(page.relative_to(ROOT).with_suffix("")))
    module = types.ModuleType(name)
    module.__dict__.update(PRELUDE)
    monkeypatch.setitem(sys.modules, name, module)
    for block in (b for b in blocks(page) if b.language == "python"):
        # Environment variables a sample reads (os.environ["HC_PING_KEY"]) are there, as in production.
        for variable in re.findall(r"os\.environ\[\"(\w+)\"\]", block.text):
            monkeypatch.setenv(variable, "from-the-environment")
        before = dict(module.__dict__)
        try:
            exec(compile(block.text, block.where, "exec"), module.__dict__)
        except ImportError as error:
            if _needs_django_tasks(error):
                pytest.skip(f"{block.where}: django.tasks is Django 6's (this is Django {django.get_version()})")
            raise
        jobs = [
            f"{name}.{key}"
            for key, value in module.__dict__.items()
            if before.get(key) is not value
            and (
                (
                    isinstance(value, type)
                    and issubclass(value, BaseCronJob)
                    and value.__module__ == name
                    and not value.__dict__.get("abstract", False)
                )
                or job_of(value) is not None  # a function or task under @cron(...)
            )
        ]
        new = {key for key in ("CRONJOBS", "TASKS") if module.__dict__.get(key) is not before.get(key)}
        if jobs or new:
            _check(block, jobs, module.__dict__.get("CRONJOBS", {}), module.__dict__.get("TASKS"))


def _check(block: Block, jobs: list[str], settings: dict, tasks: dict | None) -> None:
    """cronjobs' system checks on these jobs (dotted paths), under these settings (the page's
    ``CRONJOBS`` and ``TASKS``): no error. A list is django-crontab's ``CRONJOBS``, naming a made-up
    project's functions (``myapp.cron...``): reading it is tested in tests/peers."""
    settings = settings if isinstance(settings, dict) else {}
    values = {**settings, "AUTODISCOVER": False, "JOBS": jobs}
    if values.get("LOCK") == "cache" or "LOCK_CACHE" in settings:
        values["LOCK_CACHE"] = "locks"  # the tests' Redis: the sample's own cache is another host's
    if "LOCK_DIR" not in settings:
        values.pop("LOCK_DIR", None)
    django_settings = {"TASKS": tasks} if tasks is not None else {}
    with override_settings(CRONJOBS=values, ADMINS=[("Ops", "ops@example.com")], **django_settings):
        found = checks.run_checks(tags=["cronjobs"])
    errors = [m for m in found if m.is_serious()]
    assert not errors, f"{block.where}: " + "; ".join(f"{m.id} {m.msg}" for m in errors)


@pytest.mark.parametrize("path", sorted((DOCS / "samples").glob("*.py")), ids=lambda p: p.name)
def test_the_sample_files_the_docs_include_run(path):
    import runpy

    runpy.run_path(str(path), run_name="__docs_sample__")
    assert any(f"samples/{path.name}" in page.read_text() for page in PAGES), f"{path.name} is on no page"


# ----- Shell samples


def _lines(block: Block) -> list[list[str]]:
    """Each command of a shell block, split as sh would (comments dropped, continuations joined)."""
    text = re.sub(r"\\\n", " ", block.text)
    commands = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "sudo":
            words = words[1:]
        if words:
            commands.append(words)
    return commands


SHELL_BLOCKS = [b for p in PAGES for b in blocks(p) if b.language in ("sh", "bash", "console")]


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.where)
def test_the_shell_samples_name_commands_options_and_files_that_exist(block):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = set(pyproject["project"]["optional-dependencies"])
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    for words in _lines(block):
        program, args = words[0], words[1:]
        if program in ("python", "python3") and args[:1] == ["manage.py"]:
            _parse(block, args[1:])
        elif program in ("python", "python3") and args and args[0].endswith(".py"):
            assert (ROOT / args[0]).is_file(), f"{block.where}: no file {args[0]}"
        elif program == "pip" and args[:1] == ["install"]:
            for requirement in args[1:]:
                match = re.fullmatch(r"cronjobs(?:\[([\w,]+)\])?", requirement)
                assert match, f"{block.where}: pip install {requirement}"
                assert set((match[1] or "").split(",")) - {""} <= extras, (
                    f"{block.where}: unknown extra in {requirement}"
                )
        elif program == "make":
            assert set(args) <= targets, f"{block.where}: make {args}: no such target"
        elif program in ("nox", "systemctl", "git", "crontab", "pytest"):
            pass  # tools of their own, not ours to parse
        else:
            pytest.fail(f"{block.where}: a shell sample this test does not know how to check: {' '.join(words)}")


def _parse(block: Block, argv: list[str]) -> None:
    """Parse a manage.py command line with the command's own parser (nothing runs)."""
    name, args = argv[0], argv[1:]
    command = load_command_class("cronjobs", name) if name in reference_data.COMMANDS else None
    if command is None:
        # Django's, django-rq's, and django-crontab's (Coming from django-crontab: its lines removed).
        assert name in ("migrate", "check", "rqworker", "crontab"), f"{block.where}: unknown command {name}"
        return
    parser = command.create_parser("manage.py", name)
    try:
        parser.parse_args(args)
    except (CommandError, SystemExit) as error:
        pytest.fail(f"{block.where}: manage.py {' '.join(argv)}: {error}")


# ----- Output shown in the docs


def _sample_module(path: Path, name: str, monkeypatch) -> types.ModuleType:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


SIMULATIONS = [
    b
    for p in PAGES
    for b in blocks(p)
    if b.language in ("", "text") and b.text.startswith("$ python manage.py cronjobs simulate")
]


@pytest.mark.django_db
@pytest.mark.parametrize("block", SIMULATIONS, ids=lambda b: b.where)
def test_each_simulation_the_docs_show_is_what_the_command_prints(block, monkeypatch, django_db_blocker):
    """The examples of the Time page, run against the jobs of docs/samples/time_jobs.py."""
    from io import StringIO

    from django.core.management import call_command

    module = _sample_module(DOCS / "samples" / "time_jobs.py", "docs_samples_time_jobs", monkeypatch)
    jobs = [
        f"{module.__name__}.{name}"
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseCronJob) and value.__module__ == module.__name__
    ]
    command, _, shown = block.text.partition("\n")
    out = StringIO()
    # unblock: the simulation runs the real runner on a throwaway SQLite database of its own
    with (
        django_db_blocker.unblock(),
        override_settings(CRONJOBS={"AUTODISCOVER": False, "JOBS": jobs}, TIME_ZONE="UTC"),
    ):
        call_command(*shlex.split(command)[3:], stdout=out, no_color=True)
    assert out.getvalue().rstrip() == shown.rstrip(), block.where


def test_the_docs_show_simulations():
    assert len(SIMULATIONS) >= 6


# ----- The reference against the code


def test_every_check_message_of_the_code_is_in_the_generated_reference():
    import ast

    builders = {"Error", "Warning", "Info", "Critical", "error", "warning", "add"}
    for path in reference_data.CHECK_SOURCES:
        tree = ast.parse(path.read_text())
        helpers = {
            f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name in ("error", "warning", "add")
        }
        inside = {id(n) for f in helpers for n in ast.walk(f)}
        for call, reported in reference_data.check_calls(tree):
            name = getattr(call.func, "id", None)  # error(...), Warning(...); not reported.add(...)
            if name in builders and id(call) not in inside:
                assert reported, f"{path.name}:{call.lineno}: a check whose id the reference cannot read"


def test_every_check_id_the_docs_and_the_code_name_exists():
    known = set(reference_data.checks())
    assert len(known) > 50
    named = {}
    sources = [*PAGES, *(ROOT / "cronjobs").rglob("*.py"), ROOT / "CHANGELOG.md"]
    for path in sources:
        text = path.read_text()
        for letter, number in reference_data.CHECK_ID.findall(text):
            named.setdefault(f"cronjobs.{letter}{number}", path)
        # ids written short after a full one: "`E041`"
        for letter, number in re.findall(r"`([EWI])(\d{3})`", text):
            named.setdefault(f"cronjobs.{letter}{number}", path)
    unknown = {ident: str(path.relative_to(ROOT)) for ident, path in named.items() if ident not in known}
    assert not unknown, f"ids named but never reported by a check: {unknown}"


def test_every_setting_is_read_with_its_default():
    from cronjobs.conf import DEFAULTS

    settings = reference_data.settings()
    assert [s.key for s in settings] == list(DEFAULTS)
    assert all(s.description for s in settings), "a key of DEFAULTS without a comment above it"


def test_every_attribute_and_hook_of_the_job_class_is_documented():
    documented = {a.name for a in reference_data.job_attributes()}
    public = {
        name
        for cls in (BaseCronJob, CommandJob)
        for name in cls.__annotations__ | {k: v for k, v in vars(cls).items() if callable(v)}
        if not name.startswith("_") and not name.startswith("get_")
    }
    set_by_the_runner = {"slot", "attempt", "forced"}
    assert public - set_by_the_runner <= documented


def test_the_keywords_of_cron_are_the_documented_attributes_of_the_job_class_but_abstract():
    documented = [a.name for a in reference_data.job_attributes() if a.kind == "attribute" and a.owner == "BaseCronJob"]
    assert list(OPTIONS) == [name for name in documented if name != "abstract"]


def test_every_metric_of_the_view_is_in_the_reference():
    source = (ROOT / "cronjobs" / "ops" / "metrics.py").read_text()
    names = set(re.findall(r'"(cronjobs_\w+)"', source))
    assert names == {m.name for m in reference_data.metrics()}
    assert all(m.description and m.labels for m in reference_data.metrics())


def test_every_command_and_subcommand_has_its_place_in_the_commands_reference():
    page = (DOCS / "reference" / "commands.md").read_text()
    rendered = set(re.findall(r"```\{cronjobs-command\} (.+)", page))
    commands = reference_data.commands()
    assert {c.name for c in commands} == rendered
    runcrons = next(c for c in commands if c.name == "runcrons")
    assert any(o.names.startswith("--workers") and o.default == "1" for o in runcrons.options)


def test_every_run_status_has_a_meaning_in_the_statuses_reference():
    page = (DOCS / "reference" / "statuses.md").read_text()
    directive = page.split("```{cronjobs-statuses}", 1)[1].split("```", 1)[0]
    meanings = {line.split(":", 1)[0].strip() for line in directive.splitlines() if line.strip()}
    assert meanings == {s.value for s in reference_data.statuses()}


# ----- The README: the PyPI page


def test_the_readme_is_a_short_page_whose_links_lead_into_the_docs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert readme.index("make demo") < readme.index("make test") < readme.index("## ")  # the two commands first
    links = re.findall(r"\]\(([^)]+)\)", readme)
    assert links and all(link.startswith("https://") for link in links), "PyPI shows only absolute links"
    for link in links:
        if link.startswith(DOCS_URL):
            page, _, anchor = link.removeprefix(DOCS_URL).partition("#")
            source = DOCS / (page.removesuffix(".html") or "index").removesuffix("/")
            source = source / "index.md" if source.is_dir() else source.with_suffix(".md")
            assert source.is_file(), f"{link}: no page {source.relative_to(ROOT)}"
            if anchor:
                headings = re.findall(r"^#{1,3} (.+)$", source.read_text(), re.M)
                slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
                assert anchor in slugs, f"{link}: no heading {anchor!r} in {source.relative_to(ROOT)}"


def test_pyproject_names_the_docs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["urls"]["Documentation"].startswith("https://cronjobs.readthedocs.io/")


# ----- The tutorial, as a reader follows it


@pytest.mark.processes
def test_the_tutorial_s_commands_run_in_a_new_project(tmp_path):
    """The tutorial's shell block, line by line, in a project made by ``startproject``: each
    command exits 0 and says what the page says it says. installcrons writes to a crontab file
    (``--tabfile``) instead of the machine's crontab."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path), "HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, f"{' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    run("-m", "django", "startproject", "mysite", ".")
    run("manage.py", "startapp", "myapp")
    settings = tmp_path / "mysite" / "settings.py"
    # The tutorial's settings block: cronjobs (and the app of the job) installed.
    settings.write_text(settings.read_text() + '\nINSTALLED_APPS += ["cronjobs", "myapp"]\n')
    tutorial = DOCS / "tutorial.md"
    commands = next(b for b in blocks(tutorial) if b.language == "sh" and "manage.py runcrons" in b.text)
    said = {}
    for words in _lines(commands):
        assert words[:2] == ["python", "manage.py"], f"{commands.where}: {words}"
        args = words[1:]
        if args[1] == "installcrons":
            args += ["--tabfile", str(tmp_path / "crontab")]
        said[args[1]] = run(*args).stdout
    assert "class RefreshPrices(BaseCronJob)" in (tmp_path / "myapp" / "cron.py").read_text()
    assert "myapp.RefreshPrices: registered (" in said["runcrons"]  # a new job starts from now
    assert "runcrons" in (tmp_path / "crontab").read_text()
    assert said["cronjobs"].startswith("myapp.RefreshPrices")
