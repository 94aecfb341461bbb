# The two commands of the README's first screen. Each installs what it needs into .venv
# (re-installing when pyproject.toml changes) and then does its job.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test test-real test-postgres lint bench flags-doc clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## headless load run against the embedded mock models (the mock on its own CPU where there are 2+; ARGS=--no-pin to share); prints the report path
	$(VENV)/bin/loadprofile run $(ARGS)

test: $(STAMP)  ## lint, format check, type-check, then the whole test suite
	$(VENV)/bin/ruff check loadprofile tests benchmarks scripts locustfiles
	$(VENV)/bin/ruff format --check loadprofile tests benchmarks scripts locustfiles
	$(VENV)/bin/mypy
	@# the suite starts ~200 loadprofile processes: compile once, not in each of them
	@# (an environment with PYTHONDONTWRITEBYTECODE=1 never writes the .pyc files itself)
	$(PY) -m compileall -q loadprofile > /dev/null
	@# two test processes, a file each at a time: most tests wait on their servers
	$(PY) -m pytest -q -n 2 --dist loadfile

test-real: $(STAMP)  ## opt-in: against llama.cpp's servers (installs and caches them the first time)
	$(PY) scripts/real_servers.py
	$(PY) -m pytest -q -m real tests/real $(ARGS)

# The trend store's tests once more on PostgreSQL: each session initdb's a throwaway server
# (scram-sha-256, the password from $PGPASSWORD / a .pgpass file) on a free loopback port.
# initdb/pg_ctl from PATH or /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql);
# as root (initdb refuses root) they run as `nobody` through runuser (tests/pg_server.py).
test-postgres: $(STAMP)  ## opt-in: the trend store's tests against a real PostgreSQL server
	$(PY) -c 'import psycopg' 2>/dev/null || $(PY) -m pip install --quiet -e '.[postgres]'
	$(PY) -m pytest -q -m postgres tests/unit/trend $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check loadprofile tests benchmarks scripts locustfiles
	$(VENV)/bin/ruff format --check loadprofile tests benchmarks scripts locustfiles
	$(VENV)/bin/mypy

flags-doc: $(STAMP)  ## regenerate docs/flags.md's tables from loadprofile/config/flags.py
	$(PY) -m loadprofile.config.flag_table docs/flags.md

bench: $(STAMP)  ## client timing accuracy and throughput sweep (prints figures)
	$(PY) benchmarks/client_sweep.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
