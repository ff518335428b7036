# ThiĐua: `make run` to try it, `make test` to check it. Python 3.11+ is all a machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := app
HOST ?= 127.0.0.1
PORT ?= 5000
WORKERS ?= 3

.PHONY: run serve test test-fast lint translations translations-update e2e-deps clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d translations --statistics

# After adding or changing interface strings: refresh the catalogue, then translate the new entries.
translations-update: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output --ignore-dirs=".venv migrations tests bench" -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

run: $(VENV)/.installed translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --scale small --if-empty
	SCHEDULER_EMBEDDED=1 $(BIN)/flask run --host $(HOST) --port $(PORT)

# Several web workers (settings: gunicorn.conf.py) and a scheduler beside them, started again whenever
# it stops; deploy/ does the same with systemd or compose (docs/OPERATIONS.md).
serve: $(VENV)/.installed translations
	$(BIN)/flask db upgrade
	trap 'kill 0' EXIT; \
	while :; do $(BIN)/flask scheduler; echo "scheduler exited ($$?); starting it again in 5 s" >&2; sleep 5; done & \
	WEB_CONCURRENCY=$(WORKERS) GUNICORN_BIND=$(HOST):$(PORT) $(BIN)/gunicorn

# Debian's Chromium for the browser tests; Playwright drives it and never downloads its own.
e2e-deps:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: browser tests will fail under CI=true"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/xenon --max-absolute C --exclude "demo/*,tests/*,migrations/*,bench/*,.venv/*" .
	$(BIN)/mypy

# The suite in TEST_WORKERS processes (pytest-xdist), each on a database of its own: a SQLite file each, or on
# TEST_DATABASE_URL's server one database per worker, its name suffixed _gw0, _gw1... (tests/conftest.py).
TEST_WORKERS ?= 2

test: $(VENV)/.installed-dev translations e2e-deps lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# While working: all but the browser journeys and the few slow tests (markers: tests/conftest.py).
test-fast: $(VENV)/.installed-dev translations
	$(BIN)/python -m pytest -q -m "not browser and not slow" -n $(TEST_WORKERS)

clean:
	rm -rf $(VENV) instance/thidua.db* .pytest_cache
