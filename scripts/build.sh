#!/usr/bin/env bash
# Configures and builds edgerun into build/ (CLI at build/bin/edgerun, library at build/lib).
# Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C build -j"$(nproc)"
