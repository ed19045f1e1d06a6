# Nivaran: `make run` starts the whole suite on embedded defaults; `make test` runs every test.
# Needs only python3 (3.11) with pip and venv; everything else is installed into var/tools and .venv.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := var/tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: setup bytecode browser run check test test-all lint proto proto-check k8s-validate bench bench-lifecycles bench-lifecycles-1m bench-deadlines bench-capacity bench-replay clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q uv==$(UV_VERSION)

# --compile-bytecode: with PYTHONDONTWRITEBYTECODE=1 (set in some environments, these machines' among them) no
# process ever writes the .pyc files of the libraries it imports, so each one compiled them from source at every
# start: 8.5 s to import the gateway instead of 3.4 s, paid by every process the suite and its tests start.
$(VENV)/.synced: $(UV) uv.lock pyproject.toml $(wildcard */pyproject.toml */*/pyproject.toml)
	$(UV) sync --all-packages --frozen --compile-bytecode --python $(PYTHON)
	touch $@

# Temporal's workflow sandbox imports the workflow module afresh for every case it runs; without bytecode on disk
# (PYTHONDONTWRITEBYTECODE=1 in some environments) that is a full compile each time. Compile once up front.
bytecode: $(VENV)/.synced
	@$(PY) -m compileall -q -j 0 libs/common/src services/*/src gateway/src proto/nivaran >/dev/null

# What the PDF documents need: the Noto fonts, and HarfBuzz's font subsetter (Debian packages, unpacked, not installed).
PDF_DEPS := var/fonts/NotoSans-Bold.ttf
$(PDF_DEPS):
	$(PYTHON) scripts/fetch_pdf_deps.py var/fonts var/lib

setup: $(VENV)/.synced bytecode $(PDF_DEPS)

# The web app's browser tests drive Debian's chromium (Playwright, no browser download): installed with apt-get when
# missing, with a Devanagari font. Only the tests need it, so `make run` does not.
browser:
	$(PYTHON) scripts/fetch_browser.py

run: setup
	$(PY) scripts/devrun.py

proto: setup
	bash scripts/gen_proto.sh

proto-check: setup
	@tmp=$$(mktemp -d) && cp -r proto $$tmp/ && bash scripts/gen_proto.sh $$tmp/proto >/dev/null 2>&1 && \
	  diff -r -x __pycache__ proto/nivaran $$tmp/proto/nivaran && echo "proto: generated code matches" || \
	  { echo "proto: generated code drifted; run make proto and commit"; exit 1; }

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

k8s-validate: setup
	$(PY) scripts/k8s_validate.py

# The test modules run on two workers (pytest-xdist), each module whole on one worker, so that a module's suite boots
# once; the modules on tests/conftest.py's shared suite (or the Temporal dev server) form one unit, first, so that
# the suite boots once in the run (the root conftest.py's scheduler). The manifests' validation and policy scan are tests
# (tests/test_k8s_*.py); ruff and mypy are not tests and run in CI before them (`make check`, .ci/run).
test: setup browser proto-check
	$(PY) scripts/testenv.py -- $(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=15

# What CI runs (.ci/run): lint, then every test.
check: lint test

test-all: setup browser
	$(PY) scripts/testenv.py -- $(PY) -m pytest -q -m "slow or not slow"

bench: setup
	$(PY) bench/intake.py

# Full case lifecycles (file, action-taken report, disposal) per second against filings alone: a few minutes on 2 cores.
bench-lifecycles: setup
	$(PY) bench/lifecycles.py --lifecycles 200 --concurrency 8

# The same with 1,000,000 cases already stored in intake, on PostgreSQL (NIVARAN_TEST_PG_URL's server): seeding about
# 1.5 minutes and some 3 GiB, the run about 3 minutes.
bench-lifecycles-1m: setup
	$(PY) bench/lifecycles.py --lifecycles 200 --concurrency 8 --stored 1000000

# N = 10,000 open cases: about half an hour on 2 cores (most of it the cases' start-up before the first deadline).
bench-deadlines: setup
	$(PY) bench/deadlines.py --cases 10000

# CPU of a case rebuilt from its history (a wake outside the worker's cache), per sandbox mode: under a minute.
bench-replay: setup
	$(PY) bench/replay.py

# 100,000 open cases asleep on one sla worker, its RSS, and the lag of 1,000 deadlines due at one instant among them:
# hours on 2 cores (every case's start-up costs the worker CPU: about 15 cases/s in a 300-case trial); prints an ETA.
bench-capacity: setup
	$(PY) bench/capacity.py

clean:
	rm -rf var $(VENV)
