#!/usr/bin/env bash
# Installs what ember needs (Debian 12, as root) when missing, then configures
# and builds it in ./build. Sourced by demo.sh and test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${EMBER_BUILD_DIR:-$ROOT/build}"

packages=(cmake ninja-build g++ ccache lld-22 llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
          nlohmann-json3-dev libcpp-httplib-dev libpcre2-dev pkg-config libgtest-dev libbenchmark-dev libboost-context-dev ${EMBER_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ember: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# scripts/fuzz.sh wants the packages only (it configures its own build).
if [ "${EMBER_SETUP_ONLY_PACKAGES:-0}" = 1 ]; then
  return 0
fi
cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD" -j2
