#!/usr/bin/env python3
"""Copies a single-file checkpoint and damages it in one named way.

Usage: _make_bad_checkpoint.py SRC_DIR DST_DIR KIND   (KIND: see CORRUPTIONS)
Each corruption breaks exactly one rule, keeping the rest of the file valid,
so that a tool's error message can be matched to that one rule.
"""

import json
import os
import shutil
import struct
import sys

MISSING = "model.ngram_embeddings.embedders.3.weight"
MISSING_PREFIX = "model.layers.1."
RESHAPED = "model.ngram_embeddings.post_projs.0.weight"


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def write(path, header, data):
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as HF does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def remove_tensors(header, data, doomed):
    """Removes the entries and bytes of tensors doomed(name), repacking the others."""
    names = [k for k in header if k != "__metadata__"]
    blob = b""
    for name in sorted(names, key=lambda k: header[k]["data_offsets"][0]):
        begin, end = header[name]["data_offsets"]
        if doomed(name):
            del header[name]
            continue
        header[name]["data_offsets"] = [len(blob), len(blob) + end - begin]
        blob += data[begin:end]
    return header, blob


def missing_tensor(header, data):
    return remove_tensors(header, data, lambda name: name == MISSING)


def missing_layer(header, data):
    """Removes every tensor of layer 1: far more than an error lists by name."""
    return remove_tensors(header, data, lambda name: name.startswith(MISSING_PREFIX))


def wrong_shape(header, data):
    # Transposing keeps the byte count, so only the shape check can object.
    header[RESHAPED]["shape"].reverse()
    return header, data


def overlapping_offsets(header, data):
    # post_projs.{0,1} have equal shapes and dtypes: point 1 at 0's bytes.
    header["model.ngram_embeddings.post_projs.1.weight"]["data_offsets"] = \
        list(header[RESHAPED]["data_offsets"])
    return header, data


def offset_out_of_range(header, data):
    # Moves a tensor every run needs wholly past the end of the data, keeping
    # its size, so no other rule (size, overlap) is broken.
    info = header["model.embed_tokens.weight"]
    info["data_offsets"] = [o + len(data) for o in info["data_offsets"]]
    return header, data


def unknown_dtype(header, data):
    header["model.embed_tokens.weight"]["dtype"] = "I8"
    return header, data


NON_FINITE = "model.norm.weight"


def non_finite(value, tensor=NON_FINITE):
    """Sets element 3 of `tensor` (bf16 or f32) to `value`: a valid file
    whose numbers poison the logits."""
    def corrupt(header, data):
        entry = header[tensor]
        begin = entry["data_offsets"][0]
        if entry["dtype"] == "BF16":
            bits = struct.pack("<f", value)[2:]  # the high half of the f32
        else:
            bits = struct.pack("<f", value)
        at = begin + 3 * len(bits)
        return header, data[:at] + bits + data[at + len(bits):]
    return corrupt


HEADER_CORRUPTIONS = {
    "weight-nan": non_finite(float("nan")),
    "weight-inf": non_finite(float("inf")),
    "layer-weight-nan": non_finite(float("nan"), "model.layers.1.self_attn.0.q_a_proj.weight"),
    "lm-head-nan": non_finite(float("nan"), "lm_head.weight"),
    "missing-tensor": missing_tensor,
    "missing-layer": missing_layer,
    "wrong-shape": wrong_shape,
    "overlapping-offsets": overlapping_offsets,
    "offset-out-of-range": offset_out_of_range,
    "unknown-dtype": unknown_dtype,
}


def truncated(path):
    """Cuts the end off the tensor data."""
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 64)


def truncated_header_length(path):
    """Leaves fewer than the 8 bytes of the header length."""
    with open(path, "r+b") as f:
        f.truncate(4)


def header_too_long(path):
    with open(path, "r+b") as f:
        f.write(struct.pack("<Q", os.path.getsize(path) + 100))


FILE_CORRUPTIONS = {
    "truncated": truncated,
    "truncated-header-length": truncated_header_length,
    "header-too-long": header_too_long,
}


def edit_config(path, edit):
    with open(path) as f:
        cfg = json.load(f)
    edit(cfg)
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)


CONFIG_CORRUPTIONS = {
    "config-missing-field": lambda cfg: cfg.pop("emb_split_num"),
    "config-neighbor-1": lambda cfg: cfg.update(emb_neighbor_num=1),
    # hidden_size 100 is not divisible by K*(N-1) = 12 (tiny preset).
    "config-hidden-indivisible": lambda cfg: cfg.update(hidden_size=100),
    "config-topk-too-large": lambda cfg: cfg.update(
        moe_topk=cfg["n_routed_experts"] + cfg["zero_expert_num"] + 1),
    # emb_split_num*(emb_neighbor_num-1) overflowed int64 to 0: SIGFPE in
    # every tool before ember bounded the fields.
    "config-split-2e62": lambda cfg: cfg.update(emb_split_num=2**62, emb_neighbor_num=5),
    # Out of memory after a minute before the bound.
    "config-million-layers": lambda cfg: cfg.update(num_layers=1_000_000),
    # Valid, but a context too short for most prompts.
    "config-max-positions-4": lambda cfg: cfg.update(max_position_embeddings=4),
}

CORRUPTIONS = [*HEADER_CORRUPTIONS, *FILE_CORRUPTIONS, *CONFIG_CORRUPTIONS]


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CORRUPTIONS:
        sys.exit(f"usage: {sys.argv[0]} SRC DST {{{'|'.join(CORRUPTIONS)}}}")
    src, dst, kind = sys.argv[1:]
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    weights = os.path.join(dst, "model.safetensors")
    if kind in HEADER_CORRUPTIONS:
        write(weights, *HEADER_CORRUPTIONS[kind](*read(weights)))
    elif kind in FILE_CORRUPTIONS:
        FILE_CORRUPTIONS[kind](weights)
    else:
        edit_config(os.path.join(dst, "config.json"), CONFIG_CORRUPTIONS[kind])


if __name__ == "__main__":
    main()
