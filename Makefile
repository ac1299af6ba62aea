# Waymark: `make run` starts the portal with demo data, `make test` runs the suite.
# Nothing else needs installing: uv is bootstrapped into .tools/ and the locked dependencies
# into .venv/. Without DATABASE_URL / CELERY_BROKER_URL, SQLite and a filesystem broker under
# var/ are used.

UV_VERSION := 0.9.30
PYTHON_FOR_TOOLS ?= $(shell command -v python3.11 || command -v python3)
UV := .tools/bin/uv
VENV := .venv
PY := $(VENV)/bin/python

# Local runs and tests use development settings; production sets DEBUG=0 and real secrets.
export DEBUG ?= 1
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# The demo's probes and e-mailed links point at the port the portal runs on.
export WAYMARK_PORT ?= 8000
export SITE_URL ?= http://127.0.0.1:$(WAYMARK_PORT)

.PHONY: run test lint bench load install clean

$(UV):
	$(PYTHON_FOR_TOOLS) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python "$(PYTHON_FOR_TOOLS)"
	touch $@

install: $(VENV)/.synced

# The worker and the scheduler log warnings only (WORKER_LOG_LEVEL=INFO for every task), the web
# server only its failed requests (ACCESS_LOG_LEVEL=INFO for all); the address and the demo
# logins come last, once the web server answers (Procfile.dev's `ready`).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo --reset-passwords
	@echo "Waymark is starting: web server, worker and scheduler; Ctrl-C stops them."
	$(VENV)/bin/honcho --procfile Procfile.dev start

# What the browser tests load into the pages they check (axe-core), from package-lock.json.
node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the browser tests' accessibility checks: apt-get install npm" >&2; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

test: install node_modules/.package-lock.json
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# The benchmark on PostgreSQL (DATABASE_URL's server, or the local one): SCALE=0.01 is the quick
# mode CI runs; a full run (SCALE=1) writes bench/results/latest.json and docs/performance.md.
SCALE ?= 1
bench: install
	env -u DEBUG $(PY) -m bench.run --scale $(SCALE) $(BENCH_ARGS)

# The load run on PostgreSQL (DATABASE_URL's server) and Redis (CELERY_BROKER_URL): USERS people
# for DURATION seconds against gunicorn, then the checks; writes bench/results/load-latest.json.
DURATION ?= 60
USERS ?= 20
load: install
	env -u DEBUG $(PY) -m bench.load --duration $(DURATION) --users $(USERS) $(LOAD_ARGS)

clean:
	rm -rf var .pytest_cache .ruff_cache

# Backup and restore of the PostgreSQL database (docs/backup.md): `make backup` writes
# var/backups/waymark-<time>.dump (or BACKUP_FILE); `make restore BACKUP_FILE=... RESTORE_URL=...`
# restores it into a fresh database made with createdb, then checks it has every migration.
BACKUP_FILE ?= var/backups/waymark-$(shell date -u +%Y%m%dT%H%M%SZ).dump
.PHONY: backup restore
backup:
	@case "$$DATABASE_URL" in postgres://*|postgresql://*) ;; \
	  *) echo "make backup: DATABASE_URL must name the PostgreSQL database to back up." >&2; exit 2;; esac
	mkdir -p "$(dir $(BACKUP_FILE))"
	pg_dump --format=custom --file="$(BACKUP_FILE)" --dbname="$$DATABASE_URL"
	@echo "Backed up to $(BACKUP_FILE)"

restore: install
	@test -f "$(BACKUP_FILE)" || { echo "make restore: BACKUP_FILE=<a pg_dump file> is required." >&2; exit 2; }
	@case "$(RESTORE_URL)" in postgres://*|postgresql://*) ;; \
	  *) echo "make restore: RESTORE_URL=postgres://... must name the fresh database to restore into." >&2; exit 2;; esac
	pg_restore --clean --if-exists --no-owner --exit-on-error --dbname="$(RESTORE_URL)" "$(BACKUP_FILE)"
	DATABASE_URL="$(RESTORE_URL)" $(PY) manage.py migrate --check
	DATABASE_URL="$(RESTORE_URL)" $(PY) manage.py verify_gate_audit
