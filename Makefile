# Set-up and everyday commands. Each target creates .venv and installs the project on first use.
#
#   make run      install (first time) and run the main job: the offline default recipe
#   make test     install (first time) and run the test suite
#   make bench    the benchmarks in bench/
#
# TORCH picks the torch build: torch==2.13.0 by default (the CPU build where the package index
# offers a local CPU wheel, the regular CUDA build elsewhere); set TORCH="torch" to take the newest.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

.PHONY: install run test bench
install: $(VENV)/.installed

run: $(VENV)/.installed
	$(VENV)/bin/accelerate launch recipes/grpo_math.py

test: $(VENV)/.installed
	$(PY) -m pytest -q

bench: $(VENV)/.installed
	$(PY) bench/bench_math.py
	$(PY) bench/bench_trainer.py
	$(PY) bench/bench_code.py
