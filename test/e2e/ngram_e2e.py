# REQUIRES: torch
# RUN: %python %s %t
"""ember-run's compiled n-gram embedding vs. the PyTorch reference.

For random checkpoints from ember-synth (presets x seeds x dtypes, plus one
sharded checkpoint) and prompts aimed at the EOS-segment and boundary rules,
the n-gram ids must match the reference exactly and the embeddings to
1e-5 relative to the largest reference magnitude.
Usage: ngram_e2e.py WORKDIR [--backend cpu|cuda] (WORKDIR is created
afresh; removed again when all pass).
"""

import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import longcat_ref as ref  # noqa: E402
from _tools import backend_args, finish, run  # noqa: E402

PRESETS = ["tiny", "tiny-n3k2"]
SEEDS = [1, 2]
DTYPES = ["f32", "bf16"]
REL_TOL = 1e-5


def prompts(cfg):
    """[(name, token ids)] aimed at the history rules of docs/design.md §2."""
    V, N, eos = cfg["vocab_size"], cfg["emb_neighbor_num"], cfg["eos_token_id"]
    rng = np.random.RandomState(1234)  # fixed, so a failure reproduces
    long = rng.randint(0, V, size=300)
    long[[17, 100, 101, 250, 299]] = eos  # mid, consecutive and final EOS
    return [
        ("eos-mid", [5, 17, 33, eos, 9, 41, 7]),
        ("eos-end", [5, 17, 33, 9, eos]),
        ("eos-consecutive", [5, 17, eos, eos, eos, 9, 41]),
        ("eos-first", [eos, 5, 17, 33, 9]),
        ("len-1", [7]),
        ("len-n-minus-1", [11, 23, 37, 41, 43][:N - 1]),
        ("extremes", [0, V - 1, V - 1, 0, eos, V - 1, 0, 0, V - 1]),
        ("long-300", long.tolist()),
    ]


def check_prompt(model, cfg, weights, tokens, out, cache):
    """Returns (error message or None, embedding error ratio)."""
    ids_path, emb_path = os.path.join(out, "i.npy"), os.path.join(out, "e.npy")
    for path in (ids_path, emb_path):  # never compare a previous prompt's dump
        if os.path.exists(path):
            os.remove(path)
    run(["ember-run", "--model", model,
         "--prompt-ids", ",".join(str(t) for t in tokens),
         "--dump-embeddings", emb_path, "--dump-ngram-ids", ids_path,
         "--embeddings-only", "--cache-dir", cache, *backend_args()])
    want_ids = ref.ngram_ids(tokens, cfg).numpy()
    got_ids = np.load(ids_path)
    if got_ids.shape != want_ids.shape:
        return f"ids shape {got_ids.shape}, want {want_ids.shape}", 0.0
    bad = np.argwhere(got_ids.astype(np.int64) != want_ids)
    if len(bad):
        t, i = bad[0]
        return (f"{len(bad)} ids differ; first at t={t} table={i}: "
                f"got {got_ids[t, i]}, want {want_ids[t, i]}"), 0.0

    want = ref.ngram_embedding(tokens, weights, cfg).numpy().astype(np.float64)
    got = np.load(emb_path)
    if got.shape != want.shape:
        return f"embeddings shape {got.shape}, want {want.shape}", 0.0
    ratio = np.abs(got - want).max() / np.abs(want).max()
    if not ratio <= REL_TOL:  # also catches NaN
        return f"embeddings max|diff|/max|ref| = {ratio:.3g} > {REL_TOL}", ratio
    return None, ratio


def check_checkpoint(preset, label, model, cache, results):
    """Runs every prompt on one checkpoint; appends (preset, error, ratio)."""
    cfg = ref.load_config(model)
    weights = ref.load_safetensors(model)
    for name, tokens in prompts(cfg):
        case = f"{label} {name}"
        try:
            err, ratio = check_prompt(model, cfg, weights, tokens,
                                      os.path.dirname(model), cache)
        except RuntimeError as e:
            err, ratio = str(e), 0.0
        if err:
            print(f"FAIL {case}: {err}")
        results.append((preset, err, ratio))


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    cache = os.path.join(work, "cache")  # shared: each config compiles once
    os.makedirs(cache)
    results = []  # (preset, error or None, ratio)
    checkpoints = [(p, s, d, 1) for p in PRESETS for s in SEEDS for d in DTYPES]
    checkpoints.append(("tiny", 3, "f16", 3))  # also covers F16 decoding
    for preset, seed, dtype, shards in checkpoints:
        label = f"{preset} seed={seed} {dtype} shards={shards}"
        model = os.path.join(work, f"{preset}-{seed}-{dtype}-{shards}", "model")
        try:
            argv = ["ember-synth", "--preset", preset, "--seed", str(seed),
                    "--dtype", dtype, "-o", model]
            run(argv + (["--shards", str(shards)] if shards > 1 else []))
            if shards > 1 and not os.path.exists(
                    os.path.join(model, "model.safetensors.index.json")):
                raise RuntimeError("--shards wrote no model.safetensors.index.json")
        except RuntimeError as e:
            print(f"FAIL {label}: {e}")
            results.append((preset, str(e), 0.0))
            continue
        check_checkpoint(preset, label, model, cache, results)

    for preset in sorted({r[0] for r in results}):
        worst = max(r[2] for r in results if r[0] == preset)
        print(f"{preset}: worst embedding max|diff|/max|ref| = {worst:.3g}")
    failed = sum(1 for r in results if r[1])
    print(f"ngram e2e: {len(results) - failed} passed, {failed} failed")
    finish(work, failed)


if __name__ == "__main__":
    main()
