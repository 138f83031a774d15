#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs dependencies, fetches and
# generates fixtures into the cache (outside git), builds, runs every ctest test (unit,
# conformance, real models) and a bounded fuzzing run of the ONNX loader.
# Usage: scripts/test.sh        (CI runs this via .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
bash scripts/fetch_fixtures.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 1500
bash scripts/run_fuzzer.sh "${EDGERUN_FUZZ_SECONDS:-60}"
echo "test.sh: finished in $(( $(date +%s) - start )) s"
