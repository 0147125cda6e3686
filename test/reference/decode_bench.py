#!/usr/bin/env python3
"""Greedy-decode speed of the PyTorch reference (eager, CPU, batch B).

usage: decode_bench.py --model DIR --prompt-len P --new-tokens N [--batch B]
                       [--threads K] [--seed S]

Loads the checkpoint (weights widened to float32), builds B deterministic
random prompts of P tokens without EOS, runs them as one batch
(longcat_decode.batched_greedy_generate_cached: every forward takes [B, T]
tokens, one KV cache per sequence held as one batched tensor): one cached
prefill of [B, P], then N-1 decode steps of [B, 1] (EOS does not stop a
sequence, so exactly N tokens are produced per sequence), and prints ONE JSON
line:
  {"decode_tokens_per_s": .., "prefill_s": .., "tokens": N, "batch": B, ...}
decode_tokens_per_s = B*(N-1) / (wall time of the N-1 decode steps); prefill_s
is the wall time of the batched prefill (which also yields the first tokens).
Loading and a warm-up run are not timed. Called by `ember-bench decode` as a
subprocess.

Debian's python3-torch links the netlib reference BLAS: matrix-vector products
(decode at B = 1) run near memory speed, but matrix-matrix products (prefill,
batched decode) are very slow: its sgemm costs about one sgemv per row. So by
default linears of at least --onednn-rows rows (B*T, default 2) go through
oneDNN (an f32 copy of each weight in its layout, same math), which beats the
BLAS from 2 rows on and loses to its sgemv at 1 row; --plain-prefill keeps
torch's BLAS path for all.
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import longcat_decode as dec  # noqa: E402
import longcat_ref as ref  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="HF-format checkpoint dir")
    p.add_argument("--prompt-len", type=int, required=True)
    p.add_argument("--new-tokens", type=int, required=True)
    p.add_argument("--batch", type=int, default=1, help="sequences decoded as one batch")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random prompt")
    p.add_argument("--plain-prefill", action="store_true",
                   help="all linears through torch's BLAS, none through oneDNN")
    p.add_argument("--onednn-rows", type=int, default=2,
                   help="linears of at least this many rows go through oneDNN (default 2)")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    args = p.parse_args()
    if args.prompt_len < 1 or args.new_tokens < 1 or args.batch < 1:
        p.error("--prompt-len, --new-tokens and --batch must be >= 1")
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
            rows = x.numel() // x.shape[-1]
            if rows < args.onednn_rows or x.dtype != torch.float32:  # a row: BLAS sgemv
                return plain_linear(x, w)
            if id(w) not in packed:
                packed[id(w)] = (w, w.contiguous().to_mkldnn())
            y = torch._C._nn.mkldnn_linear(x.reshape(rows, -1).contiguous().to_mkldnn(),
                                           packed[id(w)][1], None).to_dense()
            return y.reshape(*x.shape[:-1], y.shape[-1])
        ref.linear = linear

    eos = cfg["eos_token_id"]
    g = torch.Generator().manual_seed(args.seed)
    # Row b is the b-th prompt; B = 1 draws the prompt of the unbatched script.
    prompts = torch.randint(0, cfg["vocab_size"], (args.batch, args.prompt_len), generator=g).tolist()
    prompts = [[t if t != eos else (t + 1) % cfg["vocab_size"] for t in p] for p in prompts]

    def decode(n):
        timings = {}
        with torch.no_grad():
            ids, _ = dec.batched_greedy_generate_cached(weights, cfg, prompts, n, timings)
        return ids, timings

    if not args.no_warmup:
        decode(min(2, args.new_tokens))
    ids, timings = decode(args.new_tokens)
    steps = len(ids[0]) - 1
    print(json.dumps({
        "decode_tokens_per_s": (args.batch * steps / timings["decode_s"]
                                if steps > 0 and timings["decode_s"] > 0 else None),
        "prefill_s": timings["prefill_s"],
        "tokens": len(ids[0]),
        "batch": args.batch,
        "prompt_len": args.prompt_len,
        "decode_s": timings["decode_s"],
        "load_s": load_s,
        "threads": torch.get_num_threads(),
        "impl": "pytorch-eager-f32",
        "prefill_impl": prefill_impl,
    }))


if __name__ == "__main__":
    main()
