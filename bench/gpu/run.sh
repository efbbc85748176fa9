#!/usr/bin/env bash
# The GPU benchmark of grpo-ext in one command (bench/gpu/driver.py says what it runs):
#   bash bench/gpu/run.sh [--out DIR] [--budget SECONDS]   # a machine with a CUDA GPU; tables to $OUT or DIR
#   bash bench/gpu/run.sh --cpu --out DIR                   # the CPU smoke run: tiny shapes, fp32, gloo
# Packages the machine lacks are installed from .whl/ at the repository root (bash bench/gpu/wheels.sh
# fills it on a machine that reaches a package registry). docs/benchmarks.md has the details.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" bench/gpu/driver.py "$@"
