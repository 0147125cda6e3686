# REQUIRES: torch
# RUN: %python %s
"""Checks the PyTorch reference's inputs, without ember: the shift that
builds n-grams, the n-gram ids and embedding (docs/design.md §2, expected
values worked out on paper in the comments, not from running the reference)
and the safetensors reader (hand-written files of known bit patterns).
The model itself is checked by reference_selfcheck.py.
"""

import json
import os
import struct
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import longcat_ref as ref  # noqa: E402

EOS = 2


class ShiftRightIgnoreEos(unittest.TestCase):
    def check(self, tokens, n, expected):
        self.assertEqual(ref.shift_right_ignore_eos(tokens, n, EOS), expected)

    def test_shift_zero_is_identity(self):
        self.check([5, 2, 6], 0, [5, 2, 6])

    def test_eos_in_the_middle(self):
        # Segments [5 6 2] [7 8]: position 3 (token 7) may not see the EOS.
        self.check([5, 6, 2, 7, 8], 1, [0, 5, 6, 0, 7])
        self.check([5, 6, 2, 7, 8], 2, [0, 0, 5, 0, 0])

    def test_eos_at_the_end(self):
        # One segment; the EOS looks back inside it.
        self.check([5, 6, 7, 2], 1, [0, 5, 6, 7])
        self.check([5, 6, 7, 2], 3, [0, 0, 0, 5])

    def test_consecutive_eos(self):
        # Segments [5 2] [2] [6]: the second EOS is a segment of its own.
        self.check([5, 2, 2, 6], 1, [0, 5, 0, 0])
        self.check([5, 2, 2, 6], 2, [0, 0, 0, 0])

    def test_eos_first(self):
        # Segments [2] [5 6].
        self.check([2, 5, 6], 1, [0, 0, 5])
        self.check([2, 5, 6], 2, [0, 0, 0])

    def test_shorter_than_shift(self):
        self.check([5], 1, [0])
        self.check([5, 6], 3, [0, 0])
        self.check([], 1, [])

    def test_two_segments_shift_two(self):
        # Segments [3 4 2] [5 6 7]: each shifted by 2 on its own.
        self.check([3, 4, 2, 5, 6, 7], 2, [0, 0, 3, 0, 0, 5])


# V=10, m=2*10=20, N=3, K=2 -> E=4 tables:
#   i=0: n=2, M=21   V^j mod M = 1, 10
#   i=1: n=2, M=23   1, 10
#   i=2: n=3, M=25   1, 10, 100 mod 25 = 0
#   i=3: n=3, M=27   1, 10, 100 mod 27 = 19
TINY = {"vocab_size": 10, "ngram_vocab_size_ratio": 2, "emb_neighbor_num": 3,
        "emb_split_num": 2, "eos_token_id": EOS}

# Tokens [3 4 2 5]: segments [3 4 2] [5]; h1 = [0 3 4 0], h2 = [0 0 3 0].
#   t=0: x=3, no history -> 3 in every table.
#   t=1: x=4, h1=3: n=2: 4+30 = 34 -> 34%21=13, 34%23=11
#                   n=3: 4+30+0 = 34 -> 34%25=9, 34%27=7
#   t=2: x=2, h1=4, h2=3: n=2: 2+40 = 42 -> 42%21=0, 42%23=19
#                   M=25: 2+40+3*0 = 42 -> 17; M=27: 2+40+3*19 = 99 -> 99-81=18
#   t=3: x=5 starts a new segment -> 5 everywhere.
TINY_TOKENS = [3, 4, 2, 5]
TINY_IDS = [[3, 3, 3, 3], [13, 11, 9, 7], [0, 19, 17, 18], [5, 5, 5, 5]]


class NgramIds(unittest.TestCase):
    def test_tiny_by_hand(self):
        ids = ref.ngram_ids(TINY_TOKENS, TINY)
        self.assertEqual(ids.dtype, torch.int64)
        self.assertEqual(ids.tolist(), TINY_IDS)

    def test_full_size_all_max_tokens(self):
        # Real config: V=2^17, m=78V, N=4, K=4. With every token V-1 and no EOS
        # the n-gram ending at t=3 is sum_{j<n} (V-1)V^j = V^n - 1 (telescoping),
        # so id_i(3) = (V^n - 1) mod M_i; at t=0 it is V-1 (< M_i).
        V = 131072
        cfg = {"vocab_size": V, "ngram_vocab_size_ratio": 78,
               "emb_neighbor_num": 4, "emb_split_num": 4, "eos_token_id": EOS}
        ids = ref.ngram_ids([V - 1] * 4, cfg)
        self.assertEqual(ids.shape, (4, 12))
        m = 78 * V
        for n in range(2, 5):
            for k in range(4):
                i = (n - 2) * 4 + k
                M = m + 2 * i + 1
                self.assertEqual(int(ids[3, i]), (V ** n - 1) % M)
                self.assertEqual(int(ids[0, i]), V - 1)


class NgramEmbedding(unittest.TestCase):
    def test_tiny_by_hand(self):
        # D=4, E=4 -> rows of width 1. T_i[r] = r and P_i = (i+1)*ones([4, 1]),
        # so table i adds (i+1)*id_i(t) to every component; W_emb[v] = [v 0 0 0].
        D = 4
        weights = {"model.embed_tokens.weight":
                   torch.tensor([[float(v), 0, 0, 0] for v in range(10)])}
        for i, M in enumerate([21, 23, 25, 27]):
            weights[f"model.ngram_embeddings.embedders.{i}.weight"] = \
                torch.arange(M, dtype=torch.float32).reshape(M, 1)
            weights[f"model.ngram_embeddings.post_projs.{i}.weight"] = \
                torch.full((D, 1), float(i + 1))
        emb = ref.ngram_embedding(TINY_TOKENS, weights, TINY)
        # t=1: x=4, ids [13 11 9 7] -> 13 + 2*11 + 3*9 + 4*7 = 90;
        #      e = ([4 0 0 0] + 90) / 5 = [18.8 18 18 18].
        # t=3: x=5, ids all 5 -> 5*(1+2+3+4) = 50; e = ([5 0 0 0] + 50) / 5.
        self.assertEqual(emb.dtype, torch.float32)
        self.assertTrue(torch.allclose(emb[1], torch.tensor([18.8, 18, 18, 18])))
        self.assertTrue(torch.allclose(emb[3], torch.tensor([11.0, 10, 10, 10])))


def write_safetensors(path, entries):
    """entries: [(name, dtype, shape, raw bytes)] -> a safetensors file."""
    header, blob = {"__metadata__": {"format": "pt"}}, b""
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + blob)


class LoadSafetensors(unittest.TestCase):
    # Bit patterns: f32 1.5 = 0x3FC00000 -> bf16 0x3FC0; -2.0 -> bf16 0xC000;
    # f16 0.5 = 0x3800, f16 -1.0 = 0xBC00.
    ENTRIES = [
        ("a", "F32", [2], struct.pack("<2f", 1.5, -2.0)),
        ("b", "BF16", [2, 1], struct.pack("<2H", 0x3FC0, 0xC000)),
        ("c", "F16", [1, 2], struct.pack("<2H", 0x3800, 0xBC00)),
    ]

    def check(self, tensors):
        self.assertEqual(tensors["a"].tolist(), [1.5, -2.0])
        self.assertEqual(tensors["b"].tolist(), [[1.5], [-2.0]])
        self.assertEqual(tensors["c"].tolist(), [[0.5, -1.0]])
        for t in tensors.values():
            self.assertEqual(t.dtype, torch.float32)

    def test_single_file(self):
        with tempfile.TemporaryDirectory() as d:
            write_safetensors(os.path.join(d, "model.safetensors"), self.ENTRIES)
            self.check(ref.load_safetensors(d))

    def test_sharded(self):
        with tempfile.TemporaryDirectory() as d:
            weight_map = {}
            for k, entry in enumerate(self.ENTRIES):
                name = f"model-{k + 1:05d}-of-00003.safetensors"
                write_safetensors(os.path.join(d, name), [entry])
                weight_map[entry[0]] = name
            with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                json.dump({"metadata": {}, "weight_map": weight_map}, f)
            self.check(ref.load_safetensors(d))


if __name__ == "__main__":
    unittest.main()
