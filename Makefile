# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
VENV42 ?= .venv-django42
PYTEST_ARGS ?=

.PHONY: demo test test-fast lint bench clean system-deps

$(VENV)/.installed: pyproject.toml requirements/dev.txt requirements/lint.txt requirements/django-5.2.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements/django-5.2.txt -r requirements/dev.txt -r requirements/lint.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

$(VENV42)/.installed: pyproject.toml requirements/dev.txt requirements/django-4.2.txt
	$(PYTHON) -m venv $(VENV42)
	$(VENV42)/bin/pip install -q -r requirements/django-4.2.txt -r requirements/dev.txt
	$(VENV42)/bin/pip install -q --no-deps -e .
	touch $@

## demo: the example project on SQLite: migrate, run the jobs, show their status
demo: $(VENV)/.installed
	cd example && ../$(VENV)/bin/python manage.py migrate --verbosity 0
	cd example && ../$(VENV)/bin/python manage.py runcrons --force; echo "runcrons exited $$?"
	cd example && ../$(VENV)/bin/python manage.py runcrons; echo "runcrons exited $$? (nothing due: silent)"
	cd example && ../$(VENV)/bin/python manage.py cronjobs list

## test: linters, then the whole suite on Django 5.2 and on Django 4.2
test: lint system-deps $(VENV)/.installed $(VENV42)/.installed
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
	$(VENV42)/bin/python -m pytest $(PYTEST_ARGS)

## test-fast: the suite on Django 5.2 only, no linters
test-fast: $(VENV)/.installed
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

system-deps:
	bash scripts/system-deps.sh

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy cronjobs

bench: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(VENV42) example/db.sqlite3* .pytest_cache .mypy_cache .ruff_cache
