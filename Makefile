# ONCO-HDF Radiothérapie — developer commands.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1:8000

.PHONY: install run test lint i18n bench bench-smoke migrate seed worker smoke lock sbom clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel

# Exactly the locked versions, each file checked against its hash; then the project itself.
# Done again only when the lock or pyproject.toml changed since (every target below needs
# install: CI calls six of them, and a pip run that finds everything in place still costs
# seconds of resolving and an editable build).
INSTALLED := $(VENV)/.installed

$(INSTALLED): requirements-dev.lock pyproject.toml | $(PY)
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	$(PIP) install --quiet --no-deps -e .
	touch $@

install: $(INSTALLED)
	$(PY) -m onco_hdf.i18n_check --compile locale/fr/LC_MESSAGES/django.po

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Embedded default: SQLite, tasks in-process, second factor off for the demo accounts.
run: seed
	@echo ""
	@echo "ONCO-HDF: http://$(HOST)/  — demo logins in README.md (password: demo-onco-hdf)"
	TWO_FACTOR_REQUIRED=$${TWO_FACTOR_REQUIRED:-0} $(PY) manage.py runserver $(HOST)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

# Catalogue completeness: every string marked for translation has its French text.
i18n: install
	$(PY) manage.py makemessages -l fr --ignore=.venv --ignore=staticfiles --no-obsolete --add-location=file -v0
	$(PY) manage.py makemessages -l fr -d djangojs --ignore=.venv --ignore=staticfiles --ignore=static/vendor --add-location=file -v0
	$(PY) -m onco_hdf.i18n_check --normalize locale/fr/LC_MESSAGES/*.po
	$(PY) -m onco_hdf.i18n_check locale/fr/LC_MESSAGES/django.po
	$(PY) -m onco_hdf.i18n_check --compile locale/fr/LC_MESSAGES/django.po

bench: install
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# CI: every benchmark in its small --smoke mode, so none can break unnoticed.
bench-smoke: install
	@for script in benchmarks/bench_*.py; do echo "== $$script --smoke"; $(PY) $$script --smoke || exit 1; done

# Production smoke: the compose services as local processes (needs PostgreSQL and Redis).
smoke: install
	$(PY) .ci/prod_smoke.py

# After a change of pyproject.toml: re-resolve the locks (production, and with the dev tools).
LOCK_OPTS := --override requirements-overrides.txt --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 --no-header -q
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_OPTS) -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev $(LOCK_OPTS) -o requirements-dev.lock

# CycloneDX SBOM (JSON) of what production installs: the components of requirements.lock.
sbom: install
	$(VENV)/bin/cyclonedx-py requirements requirements.lock --pyproject pyproject.toml \
	  --output-reproducible --output-format JSON -o sbom.cdx.json
	@echo "SBOM written to sbom.cdx.json"

worker: install
	$(VENV)/bin/celery -A onco_hdf worker --loglevel=INFO --concurrency=2

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles
