# RUN: %python %s %t
"""Speculative greedy decoding generates exactly what plain greedy decoding does.

For random checkpoints from ember-synth (presets tiny and tiny-n3k2 x seeds
1, 2 x dtypes f32, bf16; on the fake CUDA device seed 1 in bf16), a batch
of prompts (one sequence slot each: random, repetitive, with EOS inside, a
single token) is generated for 24 tokens with
ember-run plainly, with the MTP drafter at 1, 3 and 5 draft steps, and with
the prompt-lookup drafter. Every run must give the same ids per sequence;
rejected drafts (the synthetic MTP block is untrained, so most are rejected)
must leave no trace in the token table or the KV caches. Sampled output
(--temperature > 0) is checked for reproducibility per seed; its
distribution is covered by the unit tests (SamplingTest.cpp).
Usage: speculative_e2e.py WORKDIR [--backend cpu|cuda] (created afresh,
removed when all pass).
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _tools import backend_args, finish, on_fake_device, run, synthesized_models  # noqa: E402

PRESETS = ["tiny", "tiny-n3k2"]
SEEDS = [1, 2]
DTYPES = ["f32", "bf16"]
MAX_NEW = 24
MODES = [["--speculative", "mtp", "--draft-steps", "1"],
         ["--speculative", "mtp", "--draft-steps", "3"],
         ["--speculative", "mtp", "--draft-steps", "5"],
         ["--speculative", "ngram", "--draft-steps", "4"]]


def prompts(seed):
    eos = 2
    return [
        [1, 17 + seed, 301, 44, 9, 250, 77],
        [5, 9, 11, 5, 9, 11, 5, 9, 11, 5, 9],  # repetitive: prompt lookup drafts
        [1, 5, 17, eos, 9, 41, 7],
        [400 + seed],
    ]


def generate(model, batch, extra):
    text = ";".join(",".join(map(str, p)) for p in batch)
    out = run(["ember-run", "--model", model, "--prompt-ids", text, "--max-new-tokens", str(MAX_NEW),
               "--json", "--quiet", *backend_args()] + extra)
    result = json.loads(out.strip().splitlines()[-1])
    return [s["generated_ids"] for s in result["sequences"]], result["stats"]


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.environ["EMBER_CACHE_DIR"] = os.path.join(work, "cache")
    failures, drafted, accepted = [], 0, 0
    seeds, dtypes = ([1], ["bf16"]) if on_fake_device() else (SEEDS, DTYPES)
    for preset, seed, dtype, label, model, error in synthesized_models(work, PRESETS, seeds, dtypes):
        if error:
            failures.append(f"{label}: {error}")
            continue
        batch = prompts(seed)
        plain, _ = generate(model, batch, [])
        for mode in MODES:
            ids, stats = generate(model, batch, mode)
            drafted += stats["drafted_tokens"]
            accepted += stats["accepted_tokens"]
            for i, (a, b) in enumerate(zip(plain, ids)):
                if a != b:
                    failures.append(f"{model} {' '.join(mode)} sequence {i}: {b} != plain {a}")
        sampled = ["--temperature", "0.9", "--top-p", "0.95", "--seed", "7", "--speculative", "mtp"]
        first, _ = generate(model, batch, sampled)
        again, _ = generate(model, batch, sampled)
        if first != again:
            failures.append(f"{model}: sampled speculative output differs between identical runs")
        print(f"{preset} seed {seed} {dtype}: {len(MODES)} speculative modes match plain greedy "
              f"on {len(batch)} sequences")
    print(f"drafts: {drafted} proposed, {accepted} accepted")
    if drafted == 0:
        failures.append("no draft was ever proposed: the speculative paths did not run")
    print("\n".join(["FAIL"] + failures) if failures else "OK")
    finish(work, failures)


if __name__ == "__main__":
    main()
