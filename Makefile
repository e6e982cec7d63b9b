# Two commands: `make run` (the dashboard) and `make test` (ruff + the whole test suite); `make test-quick`
# leaves out the tests marked slow. `make run` installs only what the dashboard needs (requirements.txt);
# `make test` adds the test tools (requirements-dev.txt: pytest, ruff, Playwright, ...).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-quick coverage-quick install install-dev lint catalog evaluate trust diagnostic personal chromium postgres clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) requirements.txt pyproject.toml
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

run: install
	$(VENV)/bin/streamlit run app.py

chromium:
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# PostgreSQL for the reader-study tests (tests/test_study.py starts a throw-away server; skipped without one)
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian postgresql for the study tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

lint: install-dev
	$(VENV)/bin/ruff check .

test: install-dev chromium postgres
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest

# the quick loop: ruff and the tests not marked slow (browser tests, documentation snippets, 5 s or more)
test-quick: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -m "not slow"

# which lines of l2g/ the quick loop runs (reports/quick_loop.md; subprocesses such as the CLI tests' are not traced)
coverage-quick: install-dev
	$(VENV)/bin/python -m coverage run --source=l2g -m pytest -q -m "not slow" -p no:cacheprovider
	$(VENV)/bin/python -m coverage report --sort=cover

catalog: install
	$(PY) -m l2g catalog ../shared/data

clean-venv:
	rm -rf $(VENV)

evaluate: install
	$(PY) -m l2g evaluate --data ../shared/data --split test --out reports/ \
		$(if $(wildcard weights/previous/l2g.pt),--previous weights/previous/l2g.pt)

# the band, the trust-grade regression and the grade-A bounds for the shipped generator (weights/interval.json,
# its SHA256SUMS line, reports/trust_calibration_test.md); run after replacing weights/l2g.pt
trust: install
	OMP_NUM_THREADS=1 $(PY) -m bench.trust_calibrate cache --split val --data ../shared/data
	OMP_NUM_THREADS=1 $(PY) -m bench.trust_calibrate cache --split test --data ../shared/data
	$(PY) -m bench.trust_calibrate fit
	$(PY) -m bench.trust_calibrate report --split test

# issue #22: does a generated lead keep the diagnosis? PTB-XL's patient-wise benchmark (folds 1-8 / 9 / 10).
# Needs ../shared/ptbxl (metadata) and PTB-XL records100 under PTBXL (see docs/DATA.md); every stage resumes.
PTBXL ?= ../scratch/ptbxl/Data
DIAG_WEIGHTS ?= weights/l2g.pt
diagnostic: install
	OMP_NUM_THREADS=1 $(PY) -m bench.diagnostic all --ptbxl $(PTBXL) --weights $(DIAG_WEIGHTS) --out reports/

# issue #23: the personalised mode on PTB-XL fold-9/10 same-patient pairs, its band and grades
# (weights/personal_interval.json, fitted for the shipped generator on fold 9) -> reports/personal.md
personal: install
	OMP_NUM_THREADS=1 $(PY) -m bench.personal prepare --ptbxl $(PTBXL)
	OMP_NUM_THREADS=1 $(PY) -m bench.personal generic --weights weights/l2g.pt
	OMP_NUM_THREADS=1 $(PY) -m bench.personal score --weights weights/l2g.pt
	OMP_NUM_THREADS=1 $(PY) -m bench.personal_band fit
	OMP_NUM_THREADS=1 $(PY) -m bench.personal_band check
	OMP_NUM_THREADS=1 $(PY) -m bench.personal_guard
	$(PY) -m bench.personal report
