#!/usr/bin/env bash
# The main job: synthesize a tiny LongCat-Flash-Lite checkpoint, compile the
# whole model for this CPU, prefill a prompt and generate greedily with the
# KV cache, printing the generated ids and the timings.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${EMBER_BUILD_DIR:-$ROOT/build}"
source "$ROOT/scripts/setup.sh"

MODEL="$BUILD/demo/tiny"
"$BUILD/bin/ember-synth" --preset tiny --seed 1 -o "$MODEL"
"$BUILD/bin/ember-run" --model "$MODEL" --prompt-ids "${PROMPT_IDS:-1,5,9,2,7,300,2,2,511,0}" \
  --max-new-tokens "${MAX_NEW_TOKENS:-16}" --dump-logits "$BUILD/demo/prefill_logits.npy"
