# REQUIRES: torch, ml_dtypes
# RUN: %python %s %t
"""FP8 block-scaled checkpoints (the release format) vs. the PyTorch reference.

ember-synth --dtype f8e4m3 writes the attention projections and the dense
and expert MLPs as F8_E4M3 with F32 `<name>_scale_inv` blocks, the rest in
bf16, and quantization_config in config.json. ember-run dequantizes them at
load into the bf16 weights of the artifact; the reference decodes the same
bytes with ml_dtypes' float8_e4m3fn (not ember's code), multiplies by the
blocks in float32 and rounds to bf16 as DeepSeek's FP8-to-BF16 conversion
does. Per checkpoint the checks of model_e2e.py apply: prefill logits,
greedy ids and every step's logits within its tolerance. The block sizes
leave partial blocks at the right and bottom edges (32x24 on tiny, whose
widths are 96, 48, 32...) or cover a whole matrix with one (128x128, the
release's, on tiny-n3k2). --json's stats.weight_bytes.dequantized_fp8
must equal the F8_E4M3 bytes the checkpoint holds (MTP block aside) times
2 (bf16).
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


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    cache = os.path.join(work, "cache")
    os.makedirs(cache)
    failed = 0
    for preset, block in CHECKPOINTS:
        label = f"{preset} fp8 {block}"
        model = os.path.join(work, preset, "model")
        try:
            run(["ember-synth", "--preset", preset, "--seed", str(SEED), "--dtype", "f8e4m3",
                 "--fp8-block-size", block, "-o", model])
            quantized = fp8_bytes(model)
            stats = json.loads(run(["ember-run", "--model", model, "--prompt-ids", "1,5,17", "--max-new-tokens", "2",
                                    "--json", "--cache-dir", cache, *backend_args()]).splitlines()[-1])["stats"]
        except RuntimeError as e:
            print(f"FAIL {label}: {e}")
            failed += 1
            continue
        dequantized = stats["weight_bytes"]["dequantized_fp8"]
        if quantized == 0 or dequantized != 2 * quantized:
            print(f"FAIL {label}: dequantized_fp8 {dequantized} bytes, want 2 x {quantized} F8_E4M3 bytes")
            failed += 1
        cfg = ref.load_config(model)
        weights = ref.load_safetensors(model)
        for name, tokens in prompts(cfg, SEED):
            case = f"{label} {name} (T={len(tokens)})"
            try:
                status, msg, worst, n = check_case(model, cfg, weights, tokens, os.path.dirname(model), cache, False)
            except RuntimeError as e:
                status, msg, worst, n = "FAIL", str(e), 0.0, 0
            print(f"{case:<40} {status:<6} {n:>3} {worst:>11.3g} {msg}", flush=True)
            failed += status == "FAIL"
    print(f"fp8 e2e {' '.join(backend_args())}: {failed} failed")
    finish(work, failed)


if __name__ == "__main__":
    main()
