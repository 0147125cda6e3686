#!/usr/bin/env bash
# Builds the libFuzzer harnesses of test/fuzz with clang (ASan + UBSan,
# every report fatal) in $EMBER_FUZZ_BUILD_DIR (default ./build-fuzz) and
# runs each for EMBER_FUZZ_SECONDS (default 20) from its seed corpus:
#   scripts/fuzz.sh [HARNESS...]        (default: all nine)
# Seeds are copied: the committed corpus never changes. A finding leaves
# its input in <build>/fuzz-findings/<harness>/ and fails the run; turn it
# into a regression test (test/unit/runtime) before fixing it. Installs
# clang-22 and its runtime libraries when missing (Debian 12, as root).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_EACH="${EMBER_FUZZ_SECONDS:-20}"
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(FuzzSafetensors FuzzCheckpointIndex FuzzConfigJson FuzzConfigFields FuzzTokenIds
                                         FuzzTokenizer FuzzTokenizerJson FuzzChatTemplate FuzzServeRequest)

EMBER_EXTRA_PACKAGES="clang-22 libclang-rt-22-dev" EMBER_SETUP_ONLY_PACKAGES=1 source "$ROOT/scripts/setup.sh"
BUILD="${EMBER_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}" # after setup.sh, which sets BUILD to the main build
# -O1 -g1 as scripts/sanitize.sh, for the same reason.
cmake -G Ninja -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_FUZZ=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 >/dev/null
ninja -C "$BUILD" -j2 "${HARNESSES[@]}"

status=0
for harness in "${HARNESSES[@]}"; do
  corpus="$BUILD/fuzz-corpus/$harness" findings="$BUILD/fuzz-findings/$harness"
  rm -rf "$corpus" "$findings"
  mkdir -p "$corpus" "$findings"
  cp "$ROOT/test/fuzz/corpus/$harness"/* "$corpus/"
  if "$BUILD/bin/$harness" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=4096 \
       -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" > "$BUILD/fuzz-$harness.log" 2>&1; then
    echo "PASS: $harness, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/fuzz-$harness.log" |
      grep -o '[0-9]*$') inputs in ${SECONDS_EACH} s"
  else
    echo "FAIL: $harness (log: $BUILD/fuzz-$harness.log; input: $(ls "$findings" | head -n 1))"
    grep -m3 -E 'ERROR|not an ember|SUMMARY' "$BUILD/fuzz-$harness.log" || true
    status=1
  fi
done
exit $status
