# Scoop: two commands do all the set-up on a fresh machine.
#   make run   - virtualenv, install, migrate, demo data, serve on http://127.0.0.1:$(PORT)
#   make test  - install what tests need, build the docs and run every test
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: run test test-elasticsearch install install-dev lint docs bench bench-ingest load clean vendor-world approve-screenshots

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py serve 127.0.0.1:$(PORT)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# The documentation site (mkdocs.yml, docs/) into site/; --strict turns a broken link, a
# missing page or anchor into a failure. Its OpenAPI reference is generated from the code.
docs: install-dev
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# The browser tests' screenshots (tests/browser/approved/): take them again and approve them
# (docs/development.md#accessibility-and-screenshots); then review and commit the images.
approve-screenshots: install-dev
	SCOOP_APPROVE_SCREENSHOTS=1 $(PY) -m pytest tests/browser/test_pages.py

# 1) the whole suite on the embedded settings (SQLite + DuckDB),
# 2) every test that touches the database again on the real PostgreSQL, the real
#    Celery worker tests on Redis included (browser tests run once, in step 1).
# Each step spreads the test files over TEST_PROCESSES processes (pytest-xdist; a file's tests run
# in one process, which keeps its module fixtures); TEST_PROCESSES=0 runs them in this one.
TEST_PROCESSES ?= 2
PYTEST := $(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile --durations=20
test: install-dev lint docs
	$(PYTEST)
	SCOOP_TEST_DATABASE_URL=$(PG_TEST_URL) SCOOP_DB_TESTS_ONLY=1 $(PYTEST) --ignore=tests/browser

# The Elasticsearch engine against the cluster at ELASTICSEARCH_URL (a local one: docs/guide/engines.md):
# its offline request tests, then every shared suite with an Elasticsearch variant (the conformance
# properties over ingest, rebuild, appends, re-ingest, delete and similar tracks; the search
# semantics). An unreachable cluster fails rather than skips.
test-elasticsearch: install-dev
	@test -n "$$ELASTICSEARCH_URL" || { echo "set ELASTICSEARCH_URL, e.g. http://127.0.0.1:9200 (docs/guide/engines.md)"; exit 2; }
	SCOOP_REQUIRE_SERVICES=1 $(PY) -m pytest -k elasticsearch tests/indexer/search/elasticsearch \
		tests/indexer/search/test_conformance.py tests/indexer/search/test_search_semantics.py

# The map's fallback base layer (static/vendor/world-atlas/*.geojson, committed): Natural Earth
# land and borders from the npm packages world-atlas and topojson-client, converted by build.mjs.
# Needs node and npm; run it only to update the data (new versions: change them here).
WORLD_ATLAS_TMP ?= /tmp/scoop-world-atlas
vendor-world:
	mkdir -p $(WORLD_ATLAS_TMP)
	cd $(WORLD_ATLAS_TMP) && npm install --no-save --no-audit --no-fund world-atlas@2.0.2 topojson-client@3.1.0
	node static/vendor/world-atlas/build.mjs $(WORLD_ATLAS_TMP)

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis test-output site

# Ingest throughput, search p50/p95 through the HTTP API and peak memory at
# 10K..10M detections (BENCH_SIZES=10k,100k to run fewer). Takes a while at 10M.
# Then top-k similarity over BENCH_VECTORS 256-d vectors, BENCH_LIVE_S seconds of live appends
# while 5 analysts search, then BENCH_LIVE_STREAMS cameras at once (issue 18's target: 100),
# and ingest through the HTTP API (bench-ingest).
BENCH_SIZES ?= 10k,100k,1m,10m
BENCH_VECTORS ?= 1000000
BENCH_LIVE_S ?= 60
BENCH_LIVE_STREAMS ?= 100
bench: install
	$(PY) -m bench.search --sizes $(BENCH_SIZES)
	$(PY) -m bench.similar --vectors $(BENCH_VECTORS)
	$(PY) -m bench.live --duration $(BENCH_LIVE_S)
	$(PY) -m bench.live --streams $(BENCH_LIVE_STREAMS) --duration $(BENCH_LIVE_S) --analysts 0
	$(PY) -m bench.ingest $(INGEST_ARGS)

# A fleet of worker clients posts ETA files to `manage.py serve` through the HTTP API, each as
# its own video; detections/s, job latency, the first and last 100K's rates, the search count.
# INGEST_ARGS="--preload 1m --files 20 --fleet 1": the cost of one write with 1M indexed.
INGEST_ARGS ?= --files 200 --detections 5000 --fleet 8
bench-ingest: install
	$(PY) -m bench.ingest $(INGEST_ARGS)

# Concurrent analysts searching and paging clips while a worker ingests more videos,
# through the HTTP API of `manage.py serve`; exits non-zero on any error.
LOAD_ARGS ?= --analysts 20 --duration 120 --detections 1m
load: install
	$(PY) -m bench.load $(LOAD_ARGS)
