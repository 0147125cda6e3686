# REQUIRES: torch
# RUN: %python %s
# And ember-bench decode --batch runs it (decode_bench.py) beside ember:
# RUN: rm -rf %t && ember-bench decode --preset tiny --batch 2 --new-tokens 4 --prompt-len 4 \
# RUN:   --cache-dir %t --benchmark_min_time=0.01 | FileCheck %s
# CHECK: == decode summary: tiny, bf16 weights, prompt 4 tokens, 4 decode steps per prefill, batch 2 ==
# CHECK: PyTorch eager (f32, 1 thread): decode {{[0-9.]+}} tokens/s
# CHECK-NEXT: ratio ember/PyTorch: decode {{[0-9.e+]+}}, prefill speed {{[0-9.e+]+}}
"""Checks the batched decoding of the PyTorch reference (longcat_decode.py),
which `ember-bench decode --batch B` times, without ember: a batch of B
prompts of one length gives, per sequence, the greedy ids and logits of the
single-sequence reference (longcat_ref.greedy_generate, full recompute).
"""

import json
import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import longcat_decode as dec  # noqa: E402
import longcat_ref as ref  # noqa: E402

PRESETS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "models", "presets")


def rel_err(got, want):
    return float((got.double() - want.double()).abs().max() / want.double().abs().max())


class BatchedDecode(unittest.TestCase):
    def check(self, preset, seed, prompts, new_tokens):
        with open(os.path.join(PRESETS_DIR, preset + ".json")) as f:
            cfg = json.load(f)
        W = ref.random_weights(cfg, seed=seed)
        ids, rows = dec.batched_greedy_generate_cached(W, cfg, prompts, new_tokens)
        self.assertEqual(rows.shape, (len(prompts), new_tokens, cfg["vocab_size"]))
        for b, prompt in enumerate(prompts):
            want_ids, want_rows = ref.greedy_generate(W, cfg, prompt, new_tokens)
            # greedy_generate stops after an EOS; the batch goes on past it.
            n = len(want_ids)
            self.assertEqual(ids[b][:n], want_ids, f"{preset} sequence {b}")
            self.assertLess(rel_err(rows[b, :n], want_rows), 1e-5, f"{preset} sequence {b}")

    def test_batch_of_random_prompts(self):
        g = torch.Generator().manual_seed(3)
        for preset in ("tiny", "tiny-yarn"):
            prompts = torch.randint(3, 512, (4, 9), generator=g).tolist()
            prompts[2][4] = 2  # an EOS inside one prompt: its n-grams restart there
            self.check(preset, 1, prompts, 6)

    def test_batch_of_one_and_one_token_prompts(self):
        self.check("tiny-n3k2", 2, [[5, 9, 11]], 5)
        self.check("tiny", 2, [[7], [300]], 4)

    def test_cache_position_mismatch(self):
        with open(os.path.join(PRESETS_DIR, "tiny.json")) as f:
            cfg = json.load(f)
        W = ref.random_weights(cfg)
        cache = dec.BatchedKVCache(cfg)
        dec.batched_forward([[1, 2, 3], [4, 5, 6]], W, cfg, cache)
        with self.assertRaises(ValueError):
            dec.batched_forward([[1, 2, 3], [4, 5]], W, cfg, cache)


if __name__ == "__main__":
    unittest.main()
