#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs dependencies, fetches the real
# PaddleOCR models, builds edgerun, then on the PP-OCRv4 text detector with the embedded engine:
# inspects and benchmarks it, preprocesses a real page image (python3-skimage's text.png) into its
# input tensor, runs it, and asks the advisor where else it could run.
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

# A real image through the same preprocessing PaddleOCR uses (BGR, 1/255, ImageNet mean/std).
OUT="${TMPDIR:-/tmp}/edgerun_main_job"
mkdir -p "$OUT"
PAGE=/usr/lib/python3/dist-packages/skimage/data/text.png
build/bin/edgerun preprocess "$PAGE" --resize 640x640 --mode bilinear --order bgr --scale 0.00392157 \
  --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --layout nchw --dtype f32 --output "$OUT/x.npy"
build/bin/edgerun run "$MODEL" --input x="$OUT/x.npy" --output-dir "$OUT"
build/bin/edgerun advise "$MODEL" --shape x=1x3x640x640 --framework paddle --all-targets
