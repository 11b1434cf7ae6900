# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
NOX_VENV ?= .venv-nox
NOX = $(NOX_VENV)/bin/nox
DEMO_PYTHON = $(abspath $(VENV))/bin/python
PYTEST_ARGS ?=
# The sessions `make test` runs (noxfile.py tags them "ci"), the long one first: the whole suite
# on Django 5.2 / Python 3.11; then the in-process tests and the smoke set of the process tests on
# Django 6.1 / Python 3.13, lint, the package build, the docs, and the in-process tests on Django
# 6.0 / Python 3.12 and Django 5.2 / Python 3.10, the ways in from the peers (their real packages),
# and the Celery hand-off (real RabbitMQ and Celery workers).
CI_SESSIONS = "tests(django5.2-py3.11)" "tests(django6.1-py3.13)" lint package docs \
	"tests-in-process(django6.0-py3.12)" "tests-in-process(django5.2-py3.10)" peers celery
# Sessions run side by side: the whole suite, and the short ones one after the other beside it.
PARALLEL ?= 3

.PHONY: demo test test-fast test-busy coverage lint docs bench clean system-deps

# The demo needs the package and its runtime dependencies only (Django pinned as the tests pin it).
$(VENV)/.installed: pyproject.toml requirements/django-5.2.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -c requirements/django-5.2.txt -e .
	touch $@

$(NOX_VENV)/.installed: requirements/nox.txt
	$(PYTHON) -m venv $(NOX_VENV)
	$(NOX_VENV)/bin/pip install -q -r requirements/nox.txt
	touch $@

## demo: the example project on SQLite: migrate, run the jobs, show their status
demo: $(VENV)/.installed
	cd example && $(DEMO_PYTHON) manage.py migrate --verbosity 0
	cd example && $(DEMO_PYTHON) manage.py runcrons --force; echo "runcrons exited $$?"
	cd example && $(DEMO_PYTHON) manage.py runcrons; echo "runcrons exited $$? (nothing due: silent)"
	cd example && $(DEMO_PYTHON) manage.py cronjobs list

## test: linters, the package build, then the suite on the Django/Python matrix (see noxfile.py).
## Each session's output is printed as one block when it ends; the summary comes last.
test: system-deps $(NOX_VENV)/.installed
	$(NOX) --parallel $(PARALLEL) --allow-parallel -s $(CI_SESSIONS) -- $(PYTEST_ARGS)

## test-fast: the in-process tests on Django 5.2 / Python 3.11, no linters
test-fast: $(NOX_VENV)/.installed
	$(NOX) -s "tests-in-process(django5.2-py3.11)" -- $(PYTEST_ARGS)

## test-busy: `make test` from a fresh clone, three times, beside two CPU hogs (scripts/test-busy.sh)
test-busy:
	bash scripts/test-busy.sh

## coverage: branch coverage of cronjobs/ by the whole suite on Django 5.2, processes included
coverage: system-deps $(NOX_VENV)/.installed
	$(NOX) -s coverage -- $(PYTEST_ARGS)

system-deps:
	bash scripts/system-deps.sh

lint: $(NOX_VENV)/.installed
	$(NOX) -s lint

## docs: the docs site into docs/_build/html (warnings are errors, links between pages checked)
docs: $(NOX_VENV)/.installed
	$(NOX) -s docs

bench: $(NOX_VENV)/.installed
	$(NOX) -s bench

clean:
	rm -rf $(VENV) $(NOX_VENV) .nox build dist docs/_build *.egg-info example/db.sqlite3* .pytest_cache .mypy_cache .ruff_cache
