#!/usr/bin/env bash
# Fill .whl/ (at the repository root) with the wheels bench/gpu/run.sh installs on a GPU machine
# that cannot reach a package registry. Run it on any machine that can, with torch installed
# (DeepSpeed publishes only a source archive; it is built into a wheel here, with no compiled ops:
# the benchmark uses none).
#   bash bench/gpu/wheels.sh [PYTHON_VERSION]     # the GPU machine's Python, default 3.12
# The packages are what a CUDA image with torch, transformers, accelerate and peft lacks (see
# docs/benchmarks.md); pydantic-core and multiprocess are built per Python version.
set -euo pipefail
cd "$(dirname "$0")/../.."
py="${1:-3.12}"
dest=.whl
mkdir -p "$dest"
pure=(trl==1.16.0 datasets==5.2.0 dill==0.4.1 hjson==3.1.0 pydantic==2.13.4 annotated-types==0.7.0
      typing-inspection==0.4.2 einops==0.8.2)
per_python=(pydantic-core==2.46.4 multiprocess==0.70.19)
python3 -m pip download --no-deps --only-binary=:all: -d "$dest" "${pure[@]}"
python3 -m pip download --no-deps --only-binary=:all: --python-version "$py" --implementation cp \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    -d "$dest" "${per_python[@]}" || python3 -m pip download --no-deps --only-binary=:all: \
    --python-version "$py" -d "$dest" "${per_python[@]}"
python3 -m pip wheel --no-deps --no-build-isolation -w "$dest" deepspeed==0.19.8
ls -l "$dest"
du -sh "$dest"
