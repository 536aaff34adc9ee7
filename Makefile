# simple RBAS: `make run` serves the product on SQLite, `make test` runs lint and the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench bench-me bench-memory bench-list bench-peers lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# The real OpenID Connect provider the single sign-on tests run (npm's oidc-provider).
OIDC_PROVIDER := tests/oidc/node_modules/.package-lock.json
# Without npm it is skipped, and so are the tests that need Node.js (the summary says why).
$(OIDC_PROVIDER): tests/oidc/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: the single sign-on and Postman tests will be skipped (apt-get install nodejs npm)"; \
	fi

## run: create the venv, install, migrate and serve on http://127.0.0.1:8000 (SQLite)
run: $(VENV)/.runtime
	PATH="$(CURDIR)/$(BIN):$$PATH" HOST="$${HOST:-127.0.0.1}" ./run_web.sh

## test: lint, then the whole suite (SQLite unless DATABASE_URL says otherwise)
test: $(VENV)/.dev $(OIDC_PROVIDER) lint
	$(BIN)/pytest

## bench: run latency and throughput (bench/runs.py), the web side of a run alone
## (bench/webpath.py), a worker's phases per run without HTTP (bench/worker_path.py), runs of a
## script with dependencies and
## the cold build of its environment (bench/environments.py), then the web under load and held
## long-polls (bench/web.py, needs wrk), against the real server; then bench-me
bench: $(VENV)/.dev
	$(BIN)/python bench/runs.py
	$(BIN)/python bench/webpath.py
	$(BIN)/python bench/worker_path.py
	$(BIN)/python bench/environments.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/me.py

## bench-me: server CPU per authenticated GET /api/auth/me/ beside a plain DRF + simplejwt
## view served the same way (bench/me.py; BASELINE=<another checkout> compares two versions)
bench-me: $(VENV)/.dev
	$(BIN)/python bench/me.py $(if $(BASELINE),--baseline $(BASELINE))

## bench-memory: peak RSS of web and queue workers with a 50 MiB artifact, size of a 100-run list
## (bench/memory.py; a fresh SQLite file, or a scratch database on DATABASE_URL's PostgreSQL)
bench-memory: $(VENV)/.dev
	$(BIN)/python bench/memory.py

$(VENV)/.bench-peers: requirements-bench.txt $(VENV)/.dev
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

## bench-peers: RBAS (SQLite, and PostgreSQL on 127.0.0.1:5432 or DATABASE_URL) beside RQ and
## Celery on the local Redis (PEERS_REDIS_URL), same jobs: latency, throughput, CPU per job
## (bench/peers.py; skipped with a message without Redis), then the run list at 1k to 1M runs
## (bench/list.py)
bench-peers: $(VENV)/.bench-peers
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/list.py

## bench-list: GET /api/runs/ at 1k, 100k and 1M runs on PostgreSQL (DATABASE_URL's server, or
## the local one), first and deep pages, with and without filters, interleaved (bench/list.py)
bench-list: $(VENV)/.dev
	$(BIN)/python bench/list.py

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff check scripts/  # the published scripts follow the project's rules (also in `.`)
	SECRET_KEY=lint-only $(BIN)/python manage.py sync_scripts --check scripts/
	$(BIN)/ruff format --check .
	$(BIN)/hadolint Dockerfile
	$(BIN)/shellcheck run_web.sh deploy/container-smoke.sh .ci/run

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
