# casper-qc: two commands on a fresh Debian machine with Python 3.11.
#   make demo   the main job (see README)
#   make test   the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
CACHE_DIR ?= $(HOME)/.cache/casper-qc
BIN := $(VENV)/bin
# Debian packages the suite needs: ffmpeg decodes compressed audio (pydub), chromium checks pages.
APT_PACKAGES ?= ffmpeg chromium
PYTEST_ARGS ?=

export CASPER_QC_CACHE_DIR ?= $(CACHE_DIR)
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: help test demo bench down system-deps venv clean

help:
	@echo "make demo   bring up Label Studio, the ML backend and the QC service on the bundled samples"
	@echo "make down   stop what make demo started"
	@echo "make test   install what is missing and run the whole test suite"
	@echo "make bench  run the benchmarks (figures go to docs/PERFORMANCE.md)"

system-deps:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(BIN)/.installed: pyproject.toml | system-deps
	@echo "==> creating $(VENV) and installing casper-qc with its test extras"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@$(BIN)/python -m pip install -q -e '.[test,asr,bench]' 2>&1 | grep -v '^WARNING: Location' ; test $${PIPESTATUS[0]} -eq 0
	@touch $@

venv: $(BIN)/.installed

test: system-deps venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# make demo [DEMO_DIR=.demo] [DEMO_LS_PORT=8080] [DEMO_BACKEND_PORT=9090] [DEMO_QC_PORT=8090]
# Servers on 127.0.0.1 in the background, state in DEMO_DIR; a second run reuses them.
DEMO_DIR ?=
DEMO_DIR_ARG = $(if $(DEMO_DIR),--dir '$(DEMO_DIR)')
DEMO_ARGS = $(DEMO_DIR_ARG) $(if $(DEMO_LS_PORT),--ls-port $(DEMO_LS_PORT)) \
	$(if $(DEMO_BACKEND_PORT),--backend-port $(DEMO_BACKEND_PORT)) $(if $(DEMO_QC_PORT),--qc-port $(DEMO_QC_PORT))

demo: system-deps venv
	$(BIN)/python -m casper_qc.demo $(DEMO_ARGS)

# wrk loads the ML backend in its benchmark (bench/bench_ml_backend.py).
bench: APT_PACKAGES += wrk
bench: system-deps venv
	$(BIN)/python bench/run.py

# Stops exactly the processes make demo started (their pid files); needs only the standard
# library, so it works without the virtual environment too.
down:
	@if [ -x $(BIN)/python ]; then py=$(BIN)/python; else py="$(PYTHON)"; fi; \
	if [ -n "$$py" ]; then $$py -m casper_qc.demo --down $(DEMO_DIR_ARG); else echo "casper-qc demo: nothing to stop"; fi

clean:
	rm -rf $(VENV) build *.egg-info demo-out
