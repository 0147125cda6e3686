#!/usr/bin/env python3
"""Checkpoint reading for the PyTorch reference (longcat_ref.py re-exports it).

load_safetensors(dir): every tensor of a (possibly sharded) HF safetensors
checkpoint as float32, FP8 block-scaled weights dequantized; load_config(dir):
its config.json as a dict.
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
    if dtype == "F8_E4M3":
        # OCP E4M3FN as ml_dtypes decodes it (PyPI, pinned by scripts/test.sh).
        import ml_dtypes
        return np.frombuffer(raw, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float32)
    raise ValueError(f"unsupported dtype {dtype!r}")


def _load_file(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors, dtypes = {}, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        flat = _decode(data[base + begin:base + end], info["dtype"])
        tensors[name] = torch.from_numpy(flat.reshape(info["shape"]))
        dtypes[name] = info["dtype"]
    return tensors, dtypes


def _dequantize_fp8(tensors, dtypes, model_dir, round_fp8):
    """The FP8 release format (quantization_config in config.json): each
    F8_E4M3 weight times its block of `<name>_scale_inv` ([ceil(out/rows),
    ceil(in/cols)]) in float32, with `round_fp8` rounded to the dtype of the
    unquantized weights (that of model.embed_tokens.weight), as DeepSeek's
    FP8-to-BF16 conversion does. The scale tensors are dropped."""
    quantized = [name for name, dtype in dtypes.items() if dtype == "F8_E4M3"]
    if not quantized:
        return
    rows, cols = load_config(model_dir)["quantization_config"]["weight_block_size"]
    rounded = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}[
        dtypes["model.embed_tokens.weight"]]
    for name in quantized:
        w = tensors[name]
        scale = tensors.pop(name + "_scale_inv")
        blocks = scale.repeat_interleave(rows, 0).repeat_interleave(cols, 1)[:w.shape[0], :w.shape[1]]
        tensors[name] = (w * blocks).to(rounded).to(torch.float32) if round_fp8 else w * blocks


def load_safetensors(model_dir, round_fp8=True):
    """All tensors of a (possibly sharded) checkpoint, as float32; FP8 ones
    dequantized (_dequantize_fp8)."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors, dtypes = {}, {}
    for name in files:
        file_tensors, file_dtypes = _load_file(os.path.join(model_dir, name))
        tensors.update(file_tensors)
        dtypes.update(file_dtypes)
    _dequantize_fp8(tensors, dtypes, model_dir, round_fp8)
    return tensors


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)
