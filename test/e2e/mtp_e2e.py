# REQUIRES: torch
# RUN: %python %s %t
"""ember's MTP drafter (ember_mtp) vs. the PyTorch reference's MTP block.

For random checkpoints from ember-synth (presets tiny, tiny-n3k2, tiny-yarn x
seeds 1, 2 x dtypes f32, bf16) and prompts x_0..x_{n-1} of length 2, 5 and 17
(with EOS inside the longer ones), `ember-run --dump-mtp-logits` writes the
[n-1, V] MTP logits of rows (x_{t+1}, h_t) at positions t = 0..n-2, h the
target's final hidden states of the prefill (ModelAbi.h ember_mtp). They must
equal the reference's mtp_prompt_logits within max|diff| <= 1e-4 * max|ref|
(the tolerance of model_e2e.py), and ember-run's own prefill logits must match
the reference too (so an MTP mismatch is not a target one in disguise).

The flag only drafts at start 0 into slot 0 and keeps hidden_out to itself, so
each checkpoint's 17-token prompt is also run through ember_mtp_packed of the
compiled CPU library directly (ctypes, the ModelAbi.h argument order): rows
fed in chunks 0:3, 3:4, 4:16 at starts 0, 3, 4 into slot 1 of a two-slot MTP
cache filled with NaN (a read outside slot 1's rows 0..start+t shows up), with
the reference's hidden states as hidden_in; logits and hidden_out must match
the reference's single full-recompute mtp() within the same tolerance.
With `--backend cuda` (the fake CUDA device in CI, which runs the nvptx
artifact's kernels on the CPU) only the ember-run cases run, on seed 1.
Usage: mtp_e2e.py WORKDIR (created afresh, removed again when all pass).
"""

import ctypes
import os
import shutil
import sys
import time

import numpy as np

try:
    import torch  # noqa: F401 (the reference needs it)
except ImportError:
    print("mtp e2e: SKIPPED, python3-torch is not installed (apt-get install python3-torch)")
    sys.exit(0)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import longcat_ref as ref  # noqa: E402
from _tools import backend_args, finish, on_fake_device, run, synthesized_models  # noqa: E402

PRESETS = ["tiny", "tiny-n3k2", "tiny-yarn"]
SEEDS = [1, 2]
DTYPES = ["f32", "bf16"]
LENGTHS = [2, 5, 17]
REL_TOL = 1e-4


def prompts(cfg, seed):
    """[(name, token ids)] of each length; EOS inside the longer ones."""
    V, eos = cfg["vocab_size"], cfg["eos_token_id"]
    rng = np.random.RandomState(2000 + seed)  # fixed, so a failure reproduces
    cases = []
    for n in LENGTHS:
        tokens = rng.randint(3, V, size=n)
        if n >= 5:
            tokens[n // 2] = eos
        cases.append((f"len-{n}", [int(t) for t in tokens]))
    return cases


def rel(got, want):
    scale = float(np.abs(want).max())
    return float(np.abs(got.astype(np.float64) - want).max()) / scale if scale else float("inf")


def check_case(model, cfg, weights, tokens, out, cache):
    """Returns (status, message, relative error of the MTP logits)."""
    want_target, hidden = ref.forward(tokens, weights, cfg, return_hidden=True)
    want = ref.mtp(tokens[1:], hidden[:-1], weights, cfg)[0].numpy().astype(np.float64)
    mtp_path, logits_path = os.path.join(out, "m.npy"), os.path.join(out, "l.npy")
    for path in (mtp_path, logits_path):  # never compare a previous case's dump
        if os.path.exists(path):
            os.remove(path)
    run(["ember-run", "--model", model, "--prompt-ids", ",".join(str(t) for t in tokens),
         "--dump-logits", logits_path, "--dump-mtp-logits", mtp_path, "--max-new-tokens", "0", "--cache-dir", cache,
         *backend_args()])

    target = np.load(logits_path)
    err = rel(target, want_target.numpy().astype(np.float64)) \
        if target.shape == tuple(want_target.shape) else float("inf")
    if not err <= REL_TOL:
        return "FAIL", f"target prefill logits {target.shape}: max|diff|/max|ref| = {err:.3g}", 0.0
    got = np.load(mtp_path)
    if got.dtype != np.float32 or got.shape != want.shape:
        return "FAIL", f"MTP logits {got.dtype} {got.shape}, want float32 {want.shape}", 0.0
    err = rel(got, want)
    if not err <= REL_TOL:  # also catches NaN
        rows = [t for t in range(want.shape[0]) if not rel(got[t], want[t]) <= REL_TOL]
        return "FAIL", f"MTP logits max|diff|/max|ref| = {err:.3g} (rows {rows})", err
    return "ok", "", err


# ------------------------------------------------- direct ember_mtp calls

def mtp_weight_names(weights):
    """mtpWeights of ModelAbi.h, in call order."""
    p = "model.mtp.layers.0."
    own = "model.mtp.embed_tokens.weight"
    return ([own if own in weights else "model.embed_tokens.weight"]
            + [p + n + ".weight" for n in ("enorm.m", "hnorm.m", "eh_proj", "input_layernorm")]
            + [p + "self_attn." + n + ".weight" for n in (
                "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa",
                "kv_a_layernorm", "kv_b_proj", "o_proj")]
            + [p + "post_attention_layernorm.weight"]
            + [p + "transformer_layer.mlp." + n + "_proj.weight" for n in ("gate", "up", "down")]
            + ["model.mtp.norm.weight", "lm_head.weight"])


class PackedArgs:
    """The void *args[] of a `<name>_packed` function: memref descriptors
    ({allocated, aligned, offset, sizes[r], strides[r]})."""

    def __init__(self):
        self.keep, self.pointers = [], []

    def memref(self, array):
        assert array.flags["C_CONTIGUOUS"]
        r = array.ndim

        class Descriptor(ctypes.Structure):
            _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                        ("offset", ctypes.c_int64), ("sizes", ctypes.c_int64 * r),
                        ("strides", ctypes.c_int64 * r)]
        d = Descriptor(array.ctypes.data, array.ctypes.data, 0,
                       (ctypes.c_int64 * r)(*array.shape),
                       (ctypes.c_int64 * r)(*[s // array.itemsize for s in array.strides]))
        self.keep += [array, d]
        self.pointers.append(ctypes.addressof(d))

    def array(self):
        return (ctypes.c_void_p * len(self.pointers))(*self.pointers)


def check_direct(model, cfg, weights, tokens, dtype, library):
    """ember_mtp in chunks at starts > 0, slot 1: (status, message, error).
    `library`: where the CPU artifact of (config, dtype) is, or is compiled to."""
    if not os.path.exists(library):
        run(["ember-compile", "--config", os.path.join(model, "config.json"),
             "--weight-dtype", dtype, "--target", "cpu", "-o", library])
    mtp = ctypes.CDLL(library).ember_mtp_packed
    mtp.argtypes, mtp.restype = [ctypes.c_void_p], None

    _, hidden = ref.forward(tokens, weights, cfg, return_hidden=True)
    rows, hidden_in = tokens[1:], hidden[:-1]
    want_logits, want_hidden = (t.numpy().astype(np.float64)
                                for t in ref.mtp(rows, hidden_in, weights, cfg))
    args_w = []
    for name in mtp_weight_names(weights):
        w = np.ascontiguousarray(weights[name].numpy(), dtype=np.float32)
        if dtype == "bf16":  # exact: the values were widened from bf16
            w = np.ascontiguousarray(w.view(np.uint32) >> 16).astype(np.uint16)
        args_w.append(w)
    D, V, slots, context = cfg["hidden_size"], cfg["vocab_size"], 2, 32
    cache = np.full((1, slots, context, cfg["kv_lora_rank"] + cfg["qk_rope_head_dim"]),
                    np.nan, dtype=np.float32)
    got_logits, got_hidden = [], []
    for a, b in ((0, 3), (3, 4), (4, len(rows))):
        logits, hidden_out = np.empty((b - a, V), np.float32), np.empty((b - a, D), np.float32)
        args = PackedArgs()
        args.memref(np.array(rows[a:b], dtype=np.int32))
        args.memref(np.full(b - a, 1, dtype=np.int32))  # slots
        args.memref(np.arange(a, b, dtype=np.int32))  # positions
        args.memref(np.ascontiguousarray(hidden_in[a:b].numpy(), dtype=np.float32))
        for buffer in [cache, logits, hidden_out] + args_w:
            args.memref(buffer)
        mtp(args.array())
        got_logits.append(logits)
        got_hidden.append(hidden_out)
    errors = {"logits": rel(np.concatenate(got_logits), want_logits),
              "hidden_out": rel(np.concatenate(got_hidden), want_hidden)}
    if not np.isnan(cache[0, 0]).all() or not np.isnan(cache[0, 1, len(rows):]).all():
        return "FAIL", "ember_mtp wrote MTP cache rows outside slot 1, rows 0..15", 0.0
    bad = {k: v for k, v in errors.items() if not v <= REL_TOL}
    if bad:
        return "FAIL", "max|diff|/max|ref|: " + ", ".join(f"{k} {v:.3g}" for k, v in bad.items()), \
            max(errors.values())
    return "ok", "", max(errors.values())


def main():
    work = sys.argv[1]
    start = time.perf_counter()
    shutil.rmtree(work, ignore_errors=True)
    cache = os.path.join(work, "cache")  # shared: each (config, dtype) compiles once
    os.makedirs(cache)
    results = []  # (case, status, message, error)
    print(f"{'case':<36} {'status':<6} {'max rel err':>11}")
    seeds = SEEDS[:1] if on_fake_device() else SEEDS
    for preset, seed, dtype, label, model, error in synthesized_models(work, PRESETS, seeds, DTYPES):
        if error:
            print(f"FAIL {label}: {error}")
            results.append((label, "FAIL", error, 0.0))
            continue
        cfg = ref.load_config(model)
        weights = ref.load_safetensors(model)
        for name, tokens in prompts(cfg, seed):
            case = f"{label} {name}"
            try:
                status, msg, err = check_case(model, cfg, weights, tokens,
                                              os.path.dirname(model), cache)
            except RuntimeError as e:
                status, msg, err = "FAIL", str(e), 0.0
            print(f"{case:<36} {status:<6} {err:>11.3g} {msg}", flush=True)
            results.append((case, status, msg, err))
        if backend_args():
            continue  # the direct calls use the CPU library through ctypes
        case = f"{label} direct chunks"
        try:
            status, msg, err = check_direct(model, cfg, weights, prompts(cfg, seed)[-1][1],
                                            dtype, os.path.join(work, f"{preset}-{dtype}.so"))
        except (RuntimeError, OSError, AttributeError) as e:
            status, msg, err = "FAIL", str(e), 0.0
        print(f"{case:<36} {status:<6} {err:>11.3g} {msg}", flush=True)
        results.append((case, status, msg, err))

    failed = sum(1 for r in results if r[1] == "FAIL")
    worst = max((r[3] for r in results), default=0.0)
    print(f"mtp e2e {' '.join(backend_args())}: {len(results) - failed} passed, {failed} failed; worst MTP "
          f"max|diff|/max|ref| = {worst:.3g} (tolerance {REL_TOL}); "
          f"{time.perf_counter() - start:.0f} s")
    finish(work, failed)


if __name__ == "__main__":
    main()
