# Set-up and everyday commands. Each target creates .venv and installs the project on first use.
#
#   make run      install (first time) and run the main job: the offline default recipe
#   make test     install (first time) and run the test suite, in parallel (TEST_WORKERS=0: in one process)
#   make bench    the benchmarks in bench/
#
# TORCH picks the torch build: torch==2.13.0 by default (the CPU build where the package index
# offers a local CPU wheel, the regular CUDA build elsewhere); set TORCH="torch" to take the newest.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
# Test processes (pytest-xdist): twice the CPUs, since most sandbox, reward-worker and launch tests
# wait on process start-up rather than compute; at most 8, since a worker with torch loaded running a
# 2-process DeepSpeed test takes about 3 GB. The suite is safe in parallel (docs/contributing.md).
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(min(8, 2 * len(os.sched_getaffinity(0))))")

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
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=30

bench: $(VENV)/.installed
	$(PY) bench/bench_math.py
	$(PY) bench/bench_trainer.py
	$(PY) bench/bench_code.py
