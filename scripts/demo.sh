#!/usr/bin/env bash
# The main job: synthesize a tiny LongCat-Flash-Lite checkpoint, compile its
# n-gram embedding for this CPU, run it on a prompt and print the summary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${EMBER_BUILD_DIR:-$ROOT/build}"
source "$ROOT/scripts/setup.sh"

MODEL="$BUILD/demo/tiny"
"$BUILD/bin/ember-synth" --preset tiny --seed 1 -o "$MODEL"
"$BUILD/bin/ember-run" --model "$MODEL" --prompt-ids "${PROMPT_IDS:-1,5,9,2,7,300,2,2,511,0}" \
  --dump-embeddings "$BUILD/demo/embeddings.npy" --dump-ngram-ids "$BUILD/demo/ngram_ids.npy"
