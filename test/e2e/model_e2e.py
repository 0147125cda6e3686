# REQUIRES: torch
# RUN: %python %s %t
"""ember-run's whole model (prefill + cached greedy decode) vs. the PyTorch reference.

For random checkpoints from ember-synth (presets tiny, tiny-n3k2, tiny-yarn x
seeds 1, 2 x dtypes f32, bf16) and prompts of length 1, a few and ~40 with EOS
at several places (the ~40-token ones prefilled in chunks of 7 with
--prefill-chunk), and on seed 1 one of 72 prefilled at once (at 64 tokens or
more, GEMVs with bf16 weights run on tensor cores on the GPU: mma_sync_tile),
ember-run --max-new-tokens 16 must give
  - prefill logits [T, V]: max|diff| <= 1e-4 * max|ref|,
  - the same greedy ids as the reference's FULL RECOMPUTE continuation
    (EOS included, then stop),
  - step logits: row i within 1e-4 * max|ref row| of the reference logits of
    prompt + generated[:i], i.e. KV-cached decode equals full recompute.
On seed 1, each preset and dtype also runs an "eos-stop" case on a copy of the
checkpoint whose lm_head row for EOS is patched so that the reference
continuation generates EOS mid-way: generation must stop right after it.
If ember picks another token where the reference's top two logits are closer
than the tolerance (a near tie), the case passes with a note and the
comparison stops there.
On `--backend cuda` (the fake CUDA device in CI, which runs the nvptx
artifact's own kernels on the CPU) the same cases check the GPU kernels.
Usage: model_e2e.py WORKDIR [--reference-only] [--backend cpu|cuda] [--preset NAME]
  (WORKDIR is created afresh and removed again when all pass;
   --reference-only runs ember-synth and the reference but not ember-run;
   --preset runs that preset's seed-2 cases instead, as split_k.test does).
"""

import json
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import longcat_ref as ref  # noqa: E402
from _tools import backend_args, finish, run, synthesized_models  # noqa: E402

PRESETS = ["tiny", "tiny-n3k2", "tiny-yarn"]
SEEDS = [1, 2]
DTYPES = ["f32", "bf16"]
PREFILL_CHUNK = 7
MAX_NEW = 16
REL_TOL = 1e-4


def prompts(cfg, seed):
    """[(name, token ids)]: lengths 1, a few and ~40, EOS at several places."""
    V, eos = cfg["vocab_size"], cfg["eos_token_id"]
    rng = np.random.RandomState(1000 + seed)  # fixed, so a failure reproduces
    long = rng.randint(3, V, size=40)
    long[[5, 6, 21, 39]] = eos  # early, consecutive, middle and final EOS
    cases = [
        ("len-1", [int(rng.randint(3, V))]),
        ("eos-mid", [1, 5, 17, eos, 9, 41, 7]),
        ("eos-first", [eos, 300 % V, 17]),
        ("long-40", long.tolist()),
    ]
    if seed == 1:
        cases.append(("bos-few", [1, 77, 78, 79]))
        cases.append(("prefill-72", rng.randint(3, V, size=72).tolist()))
    return cases


# ------------------------------------------------------------ eos-stop copy

def patch_lm_head_row(model_dir, row, values):
    """Overwrites lm_head.weight[row] in the checkpoint files in place."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            path = os.path.join(model_dir, json.load(f)["weight_map"]["lm_head.weight"])
    else:
        path = os.path.join(model_dir, "model.safetensors")
    with open(path, "r+b") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        info = json.loads(f.read(n))["lm_head.weight"]
        width = info["shape"][1]
        v = np.asarray(values, dtype=np.float32)
        if info["dtype"] == "F32":
            raw, size = v.astype("<f4").tobytes(), 4
        elif info["dtype"] == "BF16":
            bits = v.view(np.uint32).astype(np.uint64)
            bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16  # round to nearest even
            raw, size = bits.astype("<u2").tobytes(), 2
        else:
            raise RuntimeError(f"lm_head.weight dtype {info['dtype']} not handled")
        f.seek(8 + n + info["data_offsets"][0] + row * width * size)
        f.write(raw)


def make_eos_stop_copy(model, copy, cfg, weights, prompt):
    """A copy of `model` whose reference greedy continuation of `prompt`
    generates EOS before MAX_NEW tokens. Returns (weights of the copy) or None."""
    eos = cfg["eos_token_id"]
    ids, _ = ref.greedy_generate(weights, cfg, prompt, MAX_NEW)
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(model, copy)
    for step in (4, 3, 5, 2, 6, 1):  # make EOS win where ids[step] won
        if step >= len(ids) or ids[step] == eos:
            continue
        row = weights["lm_head.weight"][ids[step]] * 1.05
        patch_lm_head_row(copy, eos, row.numpy())
        patched = ref.load_safetensors(copy)
        got, _ = ref.greedy_generate(patched, cfg, prompt, MAX_NEW)
        if eos in got and len(got) < MAX_NEW:
            return patched
    return None


# ------------------------------------------------------------------- checks

def rel(got, want):
    scale = float(np.abs(want).max())
    return float(np.abs(got.astype(np.float64) - want).max()) / scale if scale else float("inf")


def check_case(model, cfg, weights, tokens, out, cache, reference_only, extra_args=()):
    """Returns (status, message, worst relative error, #generated); ember-run
    gets `extra_args` besides its usual flags."""
    t0 = time.perf_counter()
    want_prefill = ref.forward(tokens, weights, cfg).numpy().astype(np.float64)
    want_ids, want_rows = ref.greedy_generate(weights, cfg, tokens, MAX_NEW)
    want_rows = want_rows.numpy().astype(np.float64)
    if reference_only:
        return "ref", f"{time.perf_counter() - t0:.2f}s ids={want_ids}", 0.0, len(want_ids)

    logits_path, steps_path = os.path.join(out, "l.npy"), os.path.join(out, "s.npy")
    for path in (logits_path, steps_path):  # never compare a previous case's dump
        if os.path.exists(path):
            os.remove(path)
    # Long prompts prefill in chunks of 7, the next chunk's embedding
    # overlapping this one's layers; short ones and the 72 in one call.
    chunk = ["--prefill-chunk", str(PREFILL_CHUNK)] if PREFILL_CHUNK < len(tokens) < 64 else []
    stdout = run(["ember-run", "--model", model,
                  "--prompt-ids", ",".join(str(t) for t in tokens), *chunk,
                  "--dump-logits", logits_path, "--max-new-tokens", str(MAX_NEW),
                  "--dump-step-logits", steps_path, "--json", "--cache-dir", cache, *backend_args(), *extra_args])
    lines = stdout.strip().splitlines()
    try:
        got_ids = [int(x) for x in json.loads(lines[-1])["generated_ids"]]
    except (IndexError, ValueError, KeyError, TypeError) as e:
        return "FAIL", f"last stdout line is not JSON with generated_ids ({e})", 0.0, 0

    got = np.load(logits_path)
    if got.shape != want_prefill.shape or got.dtype != np.float32:
        return "FAIL", f"prefill logits {got.dtype} {got.shape}, want float32 {want_prefill.shape}", 0.0, 0
    worst = rel(got, want_prefill)
    if not worst <= REL_TOL:  # also catches NaN
        return "FAIL", f"prefill logits max|diff|/max|ref| = {worst:.3g}", worst, 0

    steps = np.load(steps_path)
    if steps.dtype != np.float32 or steps.ndim != 2 or steps.shape[0] != len(got_ids) \
            or steps.shape[1] != cfg["vocab_size"]:
        return "FAIL", (f"step logits {steps.dtype} {steps.shape}, want float32 "
                        f"[{len(got_ids)}, {cfg['vocab_size']}]"), worst, 0
    seq = list(tokens)
    for i, got_id in enumerate(got_ids):
        # The reference row for this prefix (its own greedy row while the ids agree).
        want_row = (want_rows[i] if i < len(want_ids) and got_ids[:i] == want_ids[:i]
                    else ref.forward(seq, weights, cfg)[-1].numpy().astype(np.float64))
        err = rel(steps[i], want_row)
        worst = max(worst, err)
        if not err <= REL_TOL:
            return "FAIL", f"step {i}: logits max|diff|/max|ref| = {err:.3g}", worst, i
        if i >= len(want_ids) or got_id != want_ids[i]:
            want_id = want_ids[i] if i < len(want_ids) else "(stop)"
            top = np.sort(want_row)[-2:]
            if i < len(want_ids) and top[1] - top[0] <= REL_TOL * np.abs(want_row).max() \
                    and want_row[got_id] >= top[1] - REL_TOL * np.abs(want_row).max():
                return "tie", f"step {i}: near tie, got {got_id}, ref {want_id}", worst, i
            return "FAIL", (f"step {i}: generated {got_id}, reference {want_id} "
                            f"(got {got_ids}, want {want_ids})"), worst, i
        seq.append(got_id)
    if len(got_ids) != len(want_ids):
        return "FAIL", (f"generated {len(got_ids)} tokens, reference {len(want_ids)} "
                        f"(got {got_ids}, want {want_ids})"), worst, len(got_ids)
    return "ok", "", worst, len(got_ids)


def main():
    work = sys.argv[1]
    reference_only = "--reference-only" in sys.argv[2:]
    start = time.perf_counter()
    shutil.rmtree(work, ignore_errors=True)
    cache = os.path.join(work, "cache")  # shared: each (config, dtype) compiles once
    os.makedirs(cache)
    results = []  # (label, status, message, ratio, n)
    print(f"{'case':<44} {'status':<6} {'gen':>3} {'max rel err':>11}")
    presets, seeds = PRESETS, SEEDS
    if "--preset" in sys.argv:
        presets, seeds = [sys.argv[sys.argv.index("--preset") + 1]], [2]
    for preset, seed, dtype, label, model, error in synthesized_models(work, presets, seeds, DTYPES):
        if error:
            print(f"FAIL {label}: {error}")
            results.append((label, "FAIL", error, 0.0, 0))
            continue
        cfg = ref.load_config(model)
        weights = ref.load_safetensors(model)
        cases = [(name, tokens, model, weights)
                 for name, tokens in prompts(cfg, seed)]
        if seed == 1:
            tokens = [1, 5, 17, cfg["eos_token_id"], 9, 41, 7]
            copy = os.path.join(work, f"{preset}-{seed}-{dtype}", "eos-stop")
            patched = make_eos_stop_copy(model, copy, cfg, weights, tokens)
            if patched is None:
                print(f"note {label}: no lm_head patch made the reference stop at EOS")
            else:
                cases.append(("eos-stop", tokens, copy, patched))
        for name, tokens, path, w in cases:
            case = f"{label} {name} (T={len(tokens)})"
            try:
                status, msg, ratio, n = check_case(path, cfg, w, tokens,
                                                   os.path.dirname(model), cache,
                                                   reference_only)
            except RuntimeError as e:
                status, msg, ratio, n = "FAIL", str(e), 0.0, 0
            print(f"{case:<44} {status:<6} {n:>3} {ratio:>11.3g} {msg}", flush=True)
            results.append((case, status, msg, ratio, n))

    failed = sum(1 for r in results if r[1] == "FAIL")
    ties = sum(1 for r in results if r[1] == "tie")
    worst = max((r[3] for r in results), default=0.0)
    print(f"model e2e {' '.join(backend_args())}: {len(results) - failed} passed ({ties} near ties), {failed} failed; "
          f"worst max|diff|/max|ref| = {worst:.3g} (tolerance {REL_TOL}); "
          f"{time.perf_counter() - start:.0f} s")
    finish(work, failed)


if __name__ == "__main__":
    main()
