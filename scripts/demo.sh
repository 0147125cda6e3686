#!/usr/bin/env bash
# The main job: synthesize a tiny LongCat-Flash-Lite checkpoint (MTP block
# included), compile the whole model for this CPU, prefill a prompt and
# generate greedily with MTP speculative decoding (3 draft steps), printing
# the generated ids, the timings and the speculation stats (acceptance,
# target forwards per token). Set BACKEND=cuda to run on a GPU.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${EMBER_BUILD_DIR:-$ROOT/build}"
source "$ROOT/scripts/setup.sh"

MODEL="$BUILD/demo/tiny"
"$BUILD/bin/ember-synth" --preset tiny --seed 1 -o "$MODEL"
"$BUILD/bin/ember-run" --model "$MODEL" --prompt-ids "${PROMPT_IDS:-1,5,9,2,7,300,2,2,511,0}" \
  --max-new-tokens "${MAX_NEW_TOKENS:-16}" --speculative mtp --draft-steps 3 --backend "${BACKEND:-cpu}" \
  --dump-logits "$BUILD/demo/prefill_logits.npy"
