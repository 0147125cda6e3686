#!/usr/bin/env bash
# The main job: synthesize a tiny LongCat-Flash-Lite checkpoint (MTP block,
# a byte-level BPE tokenizer.json and a chat template included), compile the
# whole model for this CPU, render a text prompt as the user's turn of a chat
# (--chat) and tokenize it, prefill it and generate greedily with MTP
# speculative decoding (3 draft steps), streaming the generated text, then
# printing the generated ids and text, the timings and the speculation stats
# (acceptance, target forwards per token). The weights are random, so is the
# text. Set BACKEND=cuda to run on a GPU, PROMPT to change the prompt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${EMBER_BUILD_DIR:-$ROOT/build}"
source "$ROOT/scripts/setup.sh"

MODEL="$BUILD/demo/tiny"
"$BUILD/bin/ember-synth" --preset tiny --seed 1 -o "$MODEL"
"$BUILD/bin/ember-run" --model "$MODEL" --chat --prompt "${PROMPT:-Where is the station?}" \
  --max-new-tokens "${MAX_NEW_TOKENS:-16}" --speculative mtp --draft-steps 3 --backend "${BACKEND:-cpu}" \
  --dump-logits "$BUILD/demo/prefill_logits.npy"
