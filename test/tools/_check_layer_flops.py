#!/usr/bin/env python3
"""Checks the GFLOP column of `ember-bench layer` (stdin) against the matrix
products of one LongCat-Flash-Lite shortcut layer and the lm_head, counted
here from the config's fields alone (not from ember's weight list):

  per row, per attention sublayer (2 per layer):
    q_a [q_lora, D], q_b [H (nope + rope), q_lora], kv_a [kv_lora + rope, D],
    kv_b [H (nope + v), kv_lora], o_proj [D, H v], the dense MLP 3 x [F, D]
  per row: router [R + Z, D], lm_head [V, D], and topk R / (R + Z) real
    experts of 3 x [Fe, D] each
  per row t at position start + t, per sublayer and head: q.k over
    kv_lora + rope and p.v over kv_lora for each of its start + t + 1
    attended positions
  FLOPs = 2 x multiply-adds.

usage: ember-bench layer ... | _check_layer_flops.py CONFIG.json
Prints one line per case and exits non-zero on a mismatch (> 1e-3 relative,
the column has 4 significant digits).
"""

import json
import re
import sys


def layer_flops(c, tokens, start):
    d, h = c["hidden_size"], c["num_attention_heads"]
    nope, rope, v = c["qk_nope_head_dim"], c["qk_rope_head_dim"], c["v_head_dim"]
    q_lora, kv_lora = c["q_lora_rank"], c["kv_lora_rank"]
    routed, zero = c["n_routed_experts"], c["zero_expert_num"]
    attention = q_lora * d + h * (nope + rope) * q_lora + (kv_lora + rope) * d + h * (nope + v) * kv_lora + d * h * v
    mlp = 3 * c["ffn_hidden_size"] * d
    experts = c["moe_topk"] * routed / (routed + zero) * 3 * c["expert_ffn_hidden_size"] * d
    per_row = 2 * (attention + mlp) + (routed + zero) * d + c["vocab_size"] * d + experts
    attended = sum(start + t + 1 for t in range(tokens))
    scores = 2 * h * (2 * kv_lora + rope) * attended
    return 2 * (per_row * tokens + scores)


def main():
    config = json.load(open(sys.argv[1]))
    rows = 0
    for line in sys.stdin:
        match = re.match(r"((?:decode|prefill)-T\d+)\s+(\d+)\s+(\d+)\s+(\S+\s+){5}(\S+)", line)
        if not match:
            continue
        name, tokens, start, gflop = match.group(1), int(match.group(2)), int(match.group(3)), float(match.group(5))
        expected = layer_flops(config, tokens, start) / 1e9
        ok = abs(gflop - expected) <= 1e-3 * expected
        print(f"{name}: {gflop:.4g} GFLOP, expected {expected:.4g}: {'ok' if ok else 'MISMATCH'}")
        if not ok:
            sys.exit(1)
        rows += 1
    if rows == 0:
        sys.exit("no case rows in the input")


if __name__ == "__main__":
    main()
