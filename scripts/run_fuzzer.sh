#!/usr/bin/env bash
# Builds the ONNX loader fuzzer (clang, libFuzzer + ASan + UBSan) into build-fuzz/ and runs it for
# a bounded time on a seed corpus of small conformance models. Exits non-zero on any crash, leak,
# sanitizer report or timeout; the reproducer is kept in build-fuzz/fuzz-artifacts/.
# Usage: scripts/run_fuzzer.sh [SECONDS]        (default 60)
#   JOBS=2                build parallelism
#   EDGERUN_FUZZ_BUILD_DIR  build directory (default <repo>/build-fuzz)
#   Reproduce a crash:    build-fuzz/bin/edgerun_onnx_loader_fuzzer build-fuzz/fuzz-artifacts/crash-...
set -euo pipefail

DURATION="${1:-60}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${EDGERUN_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
JOBS="${JOBS:-2}"
DATA=/usr/include/onnx/backend/test/data/node

if ! command -v clang++ >/dev/null 2>&1; then
  echo "run_fuzzer: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DEDGERUN_BUILD_FUZZERS=ON -DEDGERUN_BUILD_TESTS=ON >/dev/null
ninja -C "$BUILD" -j "$JOBS" edgerun_onnx_loader_fuzzer

WORK="$(mktemp -d /tmp/edgerun_fuzz_corpus.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
ARTIFACTS="$BUILD/fuzz-artifacts"
mkdir -p "$ARTIFACTS"

# Seeds: small models covering initializers, Constant nodes, typed tensor fields, optional
# inputs, several dtypes and control-flow subgraphs.
SEEDS=(test_add test_conv_with_strides_padding test_constant test_constantofshape_int_zeros
  test_reshape_reordered_all_dims test_cast_FLOAT_to_FLOAT16 test_gemm_default_scalar_bias
  test_slice test_clip_default_inbounds test_dropout_default_mask test_if test_loop11
  test_scan9_sum test_resize_upsample_scales_nearest test_batchnorm_example test_where_example
  test_bitshift_right_uint8 test_split_variable_parts_1d test_range_float_type_positive_delta
  test_castlike_FLOAT_to_BFLOAT16)
for t in "${SEEDS[@]}"; do
  if [ -f "$DATA/$t/model.onnx" ]; then cp "$DATA/$t/model.onnx" "$WORK/$t.onnx"; fi
done
# One seed with an initializer in external data; the fuzzer's model directory has weights.bin.
if /usr/bin/python3 -c "import onnx" >/dev/null 2>&1; then
  /usr/bin/python3 - "$WORK/external.onnx" <<'PY' || echo "run_fuzzer: no external-data seed" >&2
import sys
from onnx import TensorProto, helper
w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
w.data_location = TensorProto.EXTERNAL
for k, v in (("location", "weights.bin"), ("offset", "16"), ("length", "16")):
    e = w.external_data.add()
    e.key, e.value = k, v
g = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [w])
open(sys.argv[1], "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
                              .SerializeToString())
PY
fi
echo "run_fuzzer: $(ls "$WORK" | wc -l) seeds, running for ${DURATION}s"

if ! "$BUILD/bin/edgerun_onnx_loader_fuzzer" -max_total_time="$DURATION" -timeout=10 \
  -rss_limit_mb=2560 -max_len=16384 -print_final_stats=1 -artifact_prefix="$ARTIFACTS/" \
  "$WORK"; then
  echo "run_fuzzer: FAILED; reproducers in $ARTIFACTS" >&2
  exit 1
fi
echo "run_fuzzer: no crashes in ${DURATION}s"
