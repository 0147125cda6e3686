# RUN: %python %s %t
"""A batched decode step gives every sequence exactly what it gets alone.

ember-run decodes all sequences of a batch in one ember_step per step (each
row with its own slot and position, the weights read once). For random
ember-synth checkpoints (tiny and tiny-n3k2, bf16 and f32) three prompts of
different lengths (EOS inside one) run as one batch, then each on its own;
the generated ids and every generated token's log-probability (printed with
all 17 digits by --json --logprobs) must be identical, bit for bit: greedy,
sampled (sequence i of the batch samples with seed + i, so alone it runs with
that seed), with prompt-lookup speculation (rows of drafts of several
sequences in one step), with MTP speculation, sampled (the sequences that
draft share each drafter call and one verifying forward), with prompts fed in
chunks of 2 (--prefill-chunk 2: a chunk's n-gram embedding runs ahead, during
the step before, on a second thread), sampled; and queued: two slots for the three prompts, which
arrive after 0, 4 and 1 steps (--batch 2 --arrivals 0,4,1), so the third
waits for a slot, takes it from whichever sequence finished, and prefills
in steps shared with decoding rows. The prompts end at different times
(their lengths and an EOS differ), so later steps hold fewer rows; a greedy batch of nine puts eight
sequences' rows in one tile of the CPU's row-tiled dot products; and a
40-token prompt fed in chunks of 2 (20 steps) next to a 1-token one, which
finishes (at most 12 tokens) while the long one is still prefilling, so the
long one prefills the rest of its prompt alone. Each case but that one
also checks that the batch really shared steps: its scheduler steps (each one
ember_step) are fewer than the sequences' alone, summed. With `--backend cuda` the same runs on the fake CUDA device
(the nvptx artifact's kernels executed on the CPU), on the bf16 checkpoints.
Usage: batched_e2e.py WORKDIR (created afresh, removed again when all pass).
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _tools import backend_args, finish, on_fake_device, run, synthesized_models  # noqa: E402

PROMPTS = [[5, 9, 11, 5, 9, 11, 5, 9], [7], [3, 40, 2, 17, 17, 8]]
# Nine sequences: a decode step's rows 0-7 then make one whole tile of the
# CPU's row-tiled dot products (lowering/RowTiledDots.h) and row 8 is left
# over, while alone every sequence's decode row is left over.
WIDE = [[3 + i, 20 + 2 * i, 7] for i in range(9)]
# The 1-token prompt finishes within 12 steps; the 40-token one takes 20.
LEFT_ALONE = [[3 + (7 * i) % 90 for i in range(40)], [7]]
MAX_NEW = 12
MODES = {
    "greedy": [],
    "sampled": ["--temperature", "0.9", "--top-k", "20"],
    "ngram": ["--speculative", "ngram", "--draft-steps", "3"],
    "mtp": ["--speculative", "mtp", "--draft-steps", "3", "--temperature", "0.9"],
    "chunked": ["--prefill-chunk", "2", "--temperature", "0.9"],
}
# Only for the batch: the runs alone need no slots or arrivals.
QUEUED = ["--batch", "2", "--arrivals", "0,4,1"]
SEED = 7


def generate(model, prompts, extra):
    argv = ["ember-run", "--model", model, "--prompt-ids", ";".join(",".join(map(str, p)) for p in prompts),
            "--max-new-tokens", str(MAX_NEW), "--json", "--quiet", "--logprobs"] + extra + backend_args()
    return json.loads(run(argv).strip().splitlines()[-1])


def check(model, extra, batch_extra, prompts=PROMPTS, shares_steps=True):
    """(ok, message) for one checkpoint and mode; shares_steps: the batch
    must also take fewer steps than the sequences alone."""
    batch = generate(model, prompts, extra + batch_extra + ["--seed", str(SEED)])
    steps_alone = 0
    for i, prompt in enumerate(prompts):
        alone = generate(model, [prompt], extra + ["--seed", str(SEED + i)])
        steps_alone += alone["stats"]["steps"]
        got, want = batch["sequences"][i], alone["sequences"][0]
        for key in ("generated_ids", "logprobs", "finish_reason"):
            if got[key] != want[key]:
                return False, f"sequence {i}: {key} {got[key]} in the batch, {want[key]} alone"
    steps = batch["stats"]["steps"]
    if shares_steps and steps >= steps_alone:
        return False, f"the batch ran {steps} steps, the sequences alone {steps_alone}"
    return True, f"{steps} steps vs {steps_alone} alone"


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    failed = False
    dtypes = ["bf16"] if on_fake_device() else ["bf16", "f32"]
    for _, _, _, label, model, error in synthesized_models(work, ["tiny", "tiny-n3k2"], [1], dtypes):
        for queued in (False, True):
            for mode, extra in MODES.items():
                name = mode + (" queued" if queued else "")
                ok, message = (False, error) if error else check(model, extra, QUEUED if queued else [])
                print(f"{label:20} {name:15} {'ok' if ok else 'FAIL'}  {message}")
                failed |= not ok
        # Left alone, the long prompt prefills the rest in one step, as it
        # would alone: the steps are not fewer.
        for name, extra, prompts, shares in (("greedy wide", [], WIDE, True),
                                              ("left alone", ["--prefill-chunk", "2"], LEFT_ALONE, False)):
            ok, message = (False, error) if error else check(model, extra, [], prompts, shares)
            print(f"{label:20} {name:15} {'ok' if ok else 'FAIL'}  {message}")
            failed |= not ok
    finish(work, failed)


if __name__ == "__main__":
    main()
