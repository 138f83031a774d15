#!/usr/bin/env bash
# Installs everything edgerun needs to build and test on Debian 12 (idempotent).
# Usage: scripts/setup.sh            (as root, or with sudo available)
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev libdnnl-dev
  clang libclang-rt-14-dev
  python3 python3-numpy python3-onnx python3-torch python3-torchvision
  libhwy-dev libyuv-dev libturbojpeg0-dev libpng-dev libyaml-cpp-dev
  libopencv-dev python3-opencv python3-pil python3-skimage

)
# The machine image may already carry Node.js with its own npm (conflicts with Debian's npm).
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi
