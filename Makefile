# `make demo` runs the main job, `make test` the tests; each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv lock kafka demo test lint schemas clean bench chaos

# Every dependency comes from the lock, at its pinned version and hash; then casewatch itself
# (editable) without resolving anything again, built with the locked setuptools (no index needed).
$(STAMP): pyproject.toml requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "casewatch needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

# Regenerate the locks (Python 3.11, Linux x86_64) after a change to pyproject.toml's dependencies.
# Pins already in the files are kept; `make lock LOCK_ARGS=--upgrade` takes the newest allowed.
# The dev lock is resolved first (it holds every package); the runtime lock is held to its pins,
# so the image and the tests run the same versions.
LOCK := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url \
	--no-emit-find-links $(LOCK_ARGS)
lock: $(STAMP)
	$(LOCK) --extra dev -o requirements-dev.lock pyproject.toml
	$(LOCK) -c requirements-dev.lock -o requirements.lock pyproject.toml

# Apache Kafka's jars from Maven Central into ~/.cache/casewatch (once).
kafka: $(STAMP)
	$(BIN)/casewatch broker fetch

demo: kafka
	$(BIN)/casewatch demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: kafka lint
	$(BIN)/pytest

# Rewrite the JSON Schema files under schemas/json/ from the records.
schemas: $(STAMP)
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .casewatch casewatch.db .pytest_cache .mypy_cache .ruff_cache

# Benchmarks (not part of `make test`): 1,000,000 events by default, every step, a py-spy
# profile of the whole live step; writes bench-results.json and docs/benchmarks.md.
# BENCH_ARGS="--events 100000" for a shorter run (`python -m benchmarks.run --help` for the rest).
bench: kafka
	$(BIN)/python -m benchmarks.run --profile $(BENCH_ARGS)

# The chaos suite (not part of `make test`, which runs its short form): worker SIGKILLs,
# broker restarts, SQLite locked and PostgreSQL (its own cluster, "chaos") stopped 45 s,
# poison; each checked against replay. Writes its table into docs/reliability.md.
chaos: kafka
	CASEWATCH_CHAOS_POSTGRES_URL=$$(CASEWATCH_PG_CLUSTER=chaos .ci/postgres) \
	CASEWATCH_CHAOS_POSTGRES_CLUSTER=$$(ls /usr/lib/postgresql | sort -V | tail -1)/chaos \
	$(BIN)/python -m tests.chaos.run --kills 20 --doc docs/reliability.md $(CHAOS_ARGS)
