#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs dependencies, fetches the real
# PaddleOCR models, builds edgerun, then inspects and benchmarks the PP-OCRv4 text detector
# with the embedded engine.
# Usage: scripts/main_job.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/fetch_fixtures.sh
bash scripts/build.sh
CACHE="${EDGERUN_CACHE:-$HOME/.cache/edgerun}"
MODEL="$CACHE/models/ppocr_det/model.onnx"
build/bin/edgerun inspect "$MODEL" --shape x=1x3x640x640
build/bin/edgerun bench "$MODEL" --shape x=1x3x640x640 --warmup 2 --iterations 10
