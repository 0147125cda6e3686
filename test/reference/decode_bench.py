#!/usr/bin/env python3
"""Greedy-decode speed of the PyTorch reference (eager, CPU, batch 1).

usage: decode_bench.py --model DIR --prompt-len P --new-tokens N [--threads K] [--seed S]

Loads the checkpoint (weights widened to float32), builds a deterministic
random prompt of P tokens without EOS, runs one cached prefill and then N-1
single-token decode steps (longcat_ref.greedy_generate_cached; EOS does not
stop the run here, so exactly N tokens are produced), and prints ONE JSON line:
  {"decode_tokens_per_s": .., "prefill_s": .., "tokens": N, ...}
decode_tokens_per_s = (N-1) / (wall time of the N-1 decode steps); prefill_s is
the wall time of the prefill (which also yields the first token). Loading and a
warm-up run are not timed. Called by `ember-bench decode` as a subprocess.

Debian's python3-torch links the netlib reference BLAS: matrix-vector products
(decode) run near memory speed, but matrix-matrix products (prefill) are very
slow. So by default multi-token linears go through oneDNN (an f32 copy of each
weight in its layout, same math); --plain-prefill keeps torch's BLAS path.
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import longcat_ref as ref  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="HF-format checkpoint dir")
    p.add_argument("--prompt-len", type=int, required=True)
    p.add_argument("--new-tokens", type=int, required=True)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random prompt")
    p.add_argument("--plain-prefill", action="store_true",
                   help="prefill linears through torch's BLAS instead of oneDNN")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    args = p.parse_args()
    if args.prompt_len < 1 or args.new_tokens < 1:
        p.error("--prompt-len and --new-tokens must be >= 1")
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    cfg = ref.load_config(args.model)
    weights = ref.load_safetensors(args.model)
    load_s = time.perf_counter() - t0

    prefill_impl = "blas"
    if not args.plain_prefill and torch.backends.mkldnn.is_available():
        prefill_impl = "onednn"
        plain_linear, packed = ref.linear, {}

        def linear(x, w):
            if x.shape[0] < 16 or x.dtype != torch.float32:  # few rows: BLAS is fine
                return plain_linear(x, w)
            if id(w) not in packed:
                packed[id(w)] = (w, w.contiguous().to_mkldnn())
            return torch._C._nn.mkldnn_linear(x.contiguous().to_mkldnn(),
                                              packed[id(w)][1], None).to_dense()
        ref.linear = linear

    eos = cfg["eos_token_id"]
    g = torch.Generator().manual_seed(args.seed)
    prompt = torch.randint(0, cfg["vocab_size"], (args.prompt_len,), generator=g).tolist()
    prompt = [t if t != eos else (t + 1) % cfg["vocab_size"] for t in prompt]

    def decode(n):
        timings = {}
        with torch.no_grad():
            ids, _ = ref.greedy_generate_cached(weights, cfg, prompt, n, timings,
                                                stop_at_eos=False)
        return ids, timings

    if not args.no_warmup:
        decode(min(2, args.new_tokens))
    ids, timings = decode(args.new_tokens)
    steps = len(ids) - 1
    print(json.dumps({
        "decode_tokens_per_s": steps / timings["decode_s"] if steps > 0 and timings["decode_s"] > 0 else None,
        "prefill_s": timings["prefill_s"],
        "tokens": len(ids),
        "prompt_len": args.prompt_len,
        "decode_s": timings["decode_s"],
        "load_s": load_s,
        "threads": torch.get_num_threads(),
        "impl": "pytorch-eager-f32",
        "prefill_impl": prefill_impl,
    }))


if __name__ == "__main__":
    main()
