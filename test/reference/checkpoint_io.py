#!/usr/bin/env python3
"""Checkpoint reading for the PyTorch reference (longcat_ref.py re-exports it).

load_safetensors(dir): every tensor of a (possibly sharded) HF safetensors
checkpoint as float32; load_config(dir): its config.json as a dict.
"""

import json
import os
import struct

import numpy as np
import torch


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
