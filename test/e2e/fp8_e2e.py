# REQUIRES: torch, ml_dtypes
# RUN: %python %s %t
"""FP8 block-scaled checkpoints (the release format) vs. the PyTorch reference.

ember-synth --dtype f8e4m3 writes the attention projections and the dense
and expert MLPs as F8_E4M3 with F32 `<name>_scale_inv` blocks, the rest in
bf16, and quantization_config in config.json. Two ways to run them:
- --fp8-weights dequantize (the default): ember-run dequantizes them at load
  into the bf16 weights of the artifact; the reference decodes the same
  bytes with ml_dtypes' float8_e4m3fn (not ember's code), multiplies by the
  blocks in float32 and rounds to bf16 as DeepSeek's FP8-to-BF16 conversion
  does. --json's stats.weight_bytes.dequantized_fp8 must equal the F8_E4M3
  bytes the checkpoint holds (MTP block aside) times 2 (bf16).
- --fp8-weights kernels: the artifact (--weight-dtype f8e4m3) takes the
  F8_E4M3 bytes and their scales and dequantizes inside its kernels, in
  float32; the reference's weights are the same products, not rounded.
  Nothing is dequantized at load (dequantized_fp8 = 0). The MTP drafter
  takes its weights in the same format: greedy speculative decoding must
  give plain greedy decoding's tokens.
Per checkpoint and mode the checks of model_e2e.py apply: prefill logits,
greedy ids and every step's logits within its tolerance. The block sizes
leave partial blocks at the right and bottom edges (32x24 on tiny, whose
widths are 96, 48, 32...) or cover a whole matrix with one (128x128, the
release's, on tiny-n3k2). On the fake CUDA device the GEMV-class ops
(warp_per_row) load 8 FP8 weights a lane on tiny (blocks 24 wide) and 16 on
tiny-n3k2.
Usage: fp8_e2e.py WORKDIR [--backend cpu|cuda] (created afresh, removed
again when all pass).
"""

import json
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import longcat_ref as ref  # noqa: E402
from _tools import backend_args, finish, run  # noqa: E402
from model_e2e import check_case, prompts  # noqa: E402

CHECKPOINTS = [("tiny", "32,24"), ("tiny-n3k2", "128,128")]
SEED = 1


def fp8_bytes(model):
    """Bytes of the F8_E4M3 tensors outside the MTP block, from the header."""
    with open(os.path.join(model, "model.safetensors"), "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    return sum(info["data_offsets"][1] - info["data_offsets"][0] for name, info in header.items()
               if name != "__metadata__" and info["dtype"] == "F8_E4M3" and not name.startswith("model.mtp."))


def check_checkpoint(preset, block, mode, work, cache):
    """Runs one checkpoint in one --fp8-weights mode; returns the failures."""
    label = f"{preset} fp8 {block} {mode}"
    model = os.path.join(work, preset, "model")
    try:
        if not os.path.exists(model):
            run(["ember-synth", "--preset", preset, "--seed", str(SEED), "--dtype", "f8e4m3",
                 "--fp8-block-size", block, "-o", model])
        quantized = fp8_bytes(model)
        stats = json.loads(run(["ember-run", "--model", model, "--prompt-ids", "1,5,17", "--max-new-tokens", "2",
                                "--json", "--cache-dir", cache, "--fp8-weights", mode,
                                *backend_args()]).splitlines()[-1])["stats"]
    except RuntimeError as e:
        print(f"FAIL {label}: {e}")
        return 1
    failed = 0
    dequantized = stats["weight_bytes"]["dequantized_fp8"]
    want = 2 * quantized if mode == "dequantize" else 0
    if quantized == 0 or dequantized != want:
        print(f"FAIL {label}: dequantized_fp8 {dequantized} bytes, want {want} ({quantized} F8_E4M3 bytes)")
        failed += 1
    cfg = ref.load_config(model)
    weights = ref.load_safetensors(model, round_fp8=mode == "dequantize")
    for name, tokens in prompts(cfg, SEED):
        case = f"{label} {name} (T={len(tokens)})"
        try:
            status, msg, worst, n = check_case(model, cfg, weights, tokens, os.path.dirname(model), cache, False,
                                               ["--fp8-weights", mode])
        except RuntimeError as e:
            status, msg, worst, n = "FAIL", str(e), 0.0, 0
        print(f"{case:<48} {status:<6} {n:>3} {worst:>11.3g} {msg}", flush=True)
        failed += status == "FAIL"
    return failed + check_mtp(model, label, mode, cache)


def check_mtp(model, label, mode, cache):
    """Greedy speculative decoding with the MTP drafter equals plain greedy."""
    ids = {}
    for speculative in ("none", "mtp"):
        try:
            out = run(["ember-run", "--model", model, "--prompt-ids", "1,5,17,33", "--max-new-tokens", "12",
                       "--speculative", speculative, "--json", "--cache-dir", cache, "--fp8-weights", mode,
                       *backend_args()])
            ids[speculative] = json.loads(out.splitlines()[-1])["generated_ids"]
        except (RuntimeError, ValueError, KeyError, IndexError) as e:
            print(f"FAIL {label} speculative {speculative}: {e}")
            return 1
    if ids["mtp"] != ids["none"]:
        print(f"FAIL {label}: --speculative mtp gave {ids['mtp']}, plain greedy {ids['none']}")
        return 1
    print(f"{label + ' mtp':<48} ok     {len(ids['mtp']):>3}", flush=True)
    return 0


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    cache = os.path.join(work, "cache")
    os.makedirs(cache)
    failed = 0
    for preset, block in CHECKPOINTS:
        for mode in ("dequantize", "kernels"):
            failed += check_checkpoint(preset, block, mode, work, cache)
    print(f"fp8 e2e {' '.join(backend_args())}: {failed} failed")
    finish(work, failed)


if __name__ == "__main__":
    main()
