#!/usr/bin/env python3
"""PyTorch reference for the LongCat-Flash-Lite n-gram embedding.

Written from DESIGN.md §1.2 / §1.4 (the HF semantics), independently of the
ember C++ code, so that the end-to-end tests compare two separate derivations.
Everything is plain, slow, obviously-correct code; accuracy beats speed here.
"""

import argparse
import json
import os
import struct

import numpy as np
import torch


# ---------------------------------------------------------------- checkpoint

def _decode(raw, dtype):
    """Little-endian bytes of one tensor -> float32 numpy array."""
    if dtype == "F32":
        return np.frombuffer(raw, dtype="<f4").copy()
    if dtype == "F16":
        return np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if dtype == "BF16":
        # bf16 is the top half of an f32: widen and shift into place.
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32)
    raise ValueError(f"unsupported dtype {dtype!r}")


def _load_file(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        flat = _decode(data[base + begin:base + end], info["dtype"])
        tensors[name] = torch.from_numpy(flat.reshape(info["shape"]))
    return tensors


def load_safetensors(model_dir):
    """All tensors of a (possibly sharded) checkpoint, as float32."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        tensors.update(_load_file(os.path.join(model_dir, name)))
    return tensors


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


# ------------------------------------------------------------------- n-grams

def shift_right_ignore_eos(tokens, n, eos):
    """result[t] = tokens[t-n] when t-n lies in t's segment, else 0.

    Segments end at EOS inclusive, as in HF `_shift_right_ignore_eos`: each
    segment is shifted on its own, so a look-back never crosses an EOS that
    precedes t (an EOS itself still looks back within its own segment).
    """
    tokens = [int(x) for x in tokens]
    result = [0] * len(tokens)
    start = 0
    ends = [t + 1 for t, x in enumerate(tokens) if x == eos]
    if not ends or ends[-1] != len(tokens):
        ends.append(len(tokens))  # the trailing, still-open segment
    for end in ends:
        if end - start > n:
            result[start + n:end] = tokens[start:end - n]
        start = end
    return result


def table_layout(cfg):
    """[(order n, modulus M_i)] for table i = (n-2)*K + k."""
    V = cfg["vocab_size"]
    N, K = cfg["emb_neighbor_num"], cfg["emb_split_num"]
    m = int(cfg["ngram_vocab_size_ratio"] * V)
    layout = []
    for n in range(2, N + 1):
        for k in range(K):
            i = (n - 2) * K + k
            layout.append((n, m + 2 * i + 1))
    return layout


def ngram_ids(tokens, cfg):
    """LongTensor [T, E]: row id of token t in each n-gram table."""
    V, eos = cfg["vocab_size"], cfg["eos_token_id"]
    layout = table_layout(cfg)
    N = cfg["emb_neighbor_num"]
    history = [shift_right_ignore_eos(tokens, j, eos) for j in range(N)]
    rows = []
    for t in range(len(tokens)):
        # Python ints are exact; pow(V, j, M) is the V^j mod M of the spec.
        rows.append([sum(history[j][t] * pow(V, j, M) for j in range(n)) % M
                     for n, M in layout])
    return torch.tensor(rows, dtype=torch.int64).reshape(len(tokens), len(layout))


def ngram_embedding(tokens, weights, cfg):
    """FloatTensor [T, D]: mean of the token embedding and E projected rows."""
    ids = ngram_ids(tokens, cfg)
    x = torch.tensor([int(t) for t in tokens], dtype=torch.int64)
    # float64 so that the reference is the accurate side of every comparison.
    acc = weights["model.embed_tokens.weight"].double()[x]
    E = ids.shape[1]
    for i in range(E):
        table = weights[f"model.ngram_embeddings.embedders.{i}.weight"].double()
        proj = weights[f"model.ngram_embeddings.post_projs.{i}.weight"].double()
        acc = acc + table[ids[:, i]] @ proj.T  # proj is [D, D/E]: y = P @ row
    return (acc / (1 + E)).float()


# ----------------------------------------------------------------------- CLI

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="HF-format checkpoint dir")
    p.add_argument("--prompt-ids", required=True, help="comma-separated ids")
    p.add_argument("--dump-embeddings", help="write [T, D] float32 .npy")
    p.add_argument("--dump-ngram-ids", help="write [T, E] int64 .npy")
    args = p.parse_args()

    cfg = load_config(args.model)
    tokens = [int(s) for s in args.prompt_ids.split(",")]
    if args.dump_ngram_ids:
        np.save(args.dump_ngram_ids, ngram_ids(tokens, cfg).numpy())
    if args.dump_embeddings:
        weights = load_safetensors(args.model)
        emb = ngram_embedding(tokens, weights, cfg)
        np.save(args.dump_embeddings, emb.numpy())


if __name__ == "__main__":
    main()
