"""Cached and batched greedy decoding on the PyTorch reference, for timing.

Built on longcat_ref.py's layers (which stay the single-sequence reference the
end-to-end tests compare against); test/e2e/reference_decode_check.py checks
both against longcat_ref.greedy_generate.

API (weights, cfg as in longcat_ref; prompt: list of ints; prompts: B lists
of the same length):
  greedy_generate_cached(weights, cfg, prompt, max_new_tokens, timings=None,
      stop_at_eos=True) -> (ids, float32 [n, V] logits): per-layer k/v caches
      (longcat_ref.KVCache), one prefill then one token per step
  batched_greedy_generate_cached(weights, cfg, prompts, max_new_tokens,
      timings=None) -> (B id lists, float32 [B, n, V] logits): the B sequences
      run as one batch ([B, T] tokens per forward, BatchedKVCache); EOS does
      not stop a sequence, so each gets exactly max_new_tokens ids
timings, if a dict, receives "prefill_s" and "decode_s": wall seconds of the
prefill (which yields the first token) and of the remaining steps.
"""

import math
import time

import torch

import longcat_ref as ref


def greedy_generate_cached(weights, cfg, prompt, max_new_tokens, timings=None,
                           stop_at_eos=True):
    """longcat_ref.greedy_generate with per-layer k/v caches; must agree with it.
    stop_at_eos=False always runs max_new_tokens steps (for benchmarks)."""
    seq, ids, rows = [int(t) for t in prompt], [], []
    cache = ref.KVCache(cfg)
    t0 = time.perf_counter()
    t1 = None
    for _ in range(max_new_tokens):
        row = ref.forward(seq, weights, cfg, cache)[-1]
        if t1 is None:
            t1 = time.perf_counter()
        ids.append(ref.argmax_first(row))
        rows.append(row)
        seq.append(ids[-1])
        if stop_at_eos and ids[-1] == cfg["eos_token_id"]:
            break
    t2 = time.perf_counter()
    if timings is not None:
        timings["prefill_s"] = (t1 or t2) - t0
        timings["decode_s"] = t2 - (t1 or t2)
    return ids, torch.stack(rows) if rows else torch.zeros(0, cfg["vocab_size"])


class BatchedKVCache:
    """Per layer, the caches of its two attention sublayers for B sequences
    of the same length: k_nope [B, S, H, nope], k_rope [B, S, rope],
    v [B, S, H, dv]."""

    def __init__(self, cfg):
        self.layers = [[ref.AttentionCache(seq_dim=1), ref.AttentionCache(seq_dim=1)]
                       for _ in range(cfg["num_layers"])]

    def __len__(self):
        return len(self.layers[0][0])


def batched_mla(x, W, prefix, cfg, positions, cache):
    """ref.mla (cached form) on x [B, T, D]: every sequence's T tokens sit at the
    same `positions`, are appended to its part of `cache` and attend to it."""
    B, T, D = x.shape
    H = cfg["num_attention_heads"]
    nope, rope, dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    q_lora, kv_lora = cfg["q_lora_rank"], cfg["kv_lora_rank"]
    eps = ref.LATENT_NORM_EPS

    q = ref.linear(ref.rms_norm(ref.linear(x, W[prefix + "q_a_proj.weight"]),
                                W[prefix + "q_a_layernorm.weight"], eps),
                   W[prefix + "q_b_proj.weight"]).reshape(B, T, H, nope + rope)
    if cfg["mla_scale_q_lora"]:
        q = q * math.sqrt(D / q_lora)
    q_nope, q_rope = q[..., :nope], q[..., nope:]

    c = ref.linear(x, W[prefix + "kv_a_proj_with_mqa.weight"])  # [B, T, kv_lora + rope]
    c_kv = ref.rms_norm(c[..., :kv_lora], W[prefix + "kv_a_layernorm.weight"], eps)
    if cfg["mla_scale_kv_lora"]:
        c_kv = c_kv * math.sqrt(D / kv_lora)
    kv = ref.linear(c_kv, W[prefix + "kv_b_proj.weight"]).reshape(B, T, H, nope + dv)
    k_nope, v = kv[..., :nope], kv[..., nope:]

    # apply_rope rotates rows along dim 0: put the token dim there.
    cos, sin = (t.to(x.dtype) for t in ref.rope_cos_sin(cfg, positions))
    q_rope = ref.apply_rope(q_rope.transpose(0, 1), cos, sin).transpose(0, 1)
    k_rope = ref.apply_rope(c[..., kv_lora:].transpose(0, 1), cos, sin).transpose(0, 1)

    if len(cache) != positions[0]:
        raise ValueError(f"cache holds {len(cache)} tokens, next position {positions[0]}")
    k_nope, k_rope, v = cache.append(k_nope, k_rope, v)

    scores = (torch.einsum("bthd,bshd->bhts", q_nope, k_nope)
              + torch.einsum("bthd,bsd->bhts", q_rope, k_rope)) * ref.softmax_scale(cfg)
    q_pos = torch.as_tensor(positions, dtype=torch.int64)
    future = torch.arange(len(cache))[None, :] > q_pos[:, None]  # [T, S]: causal mask
    probs = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
    out = torch.einsum("bhts,bshd->bthd", probs, v).reshape(B, T, H * dv)
    return ref.linear(out, W[prefix + "o_proj.weight"])


def batched_embedding(seqs, start, weights, cfg):
    """[B, T, D]: ref.ngram_embedding_tail(seq, start) of each sequence, the
    rows of all sequences embedded in one call."""
    back = cfg["emb_neighbor_num"] - 1  # how far an n-gram looks back
    first = max(0, start - back)
    tokens, ids = [], []
    for seq in seqs:
        window = [int(t) for t in seq[first:]]
        tokens += window[start - first:]
        ids.append(ref.ngram_ids(window, cfg)[start - first:])
    rows = ref.embed_ids(tokens, torch.cat(ids), weights)
    return rows.reshape(len(seqs), -1, rows.shape[-1])


def batched_forward(seqs, weights, cfg, cache):
    """float32 logits [B, T_new, V] of B sequences of the same length whose
    first len(cache) tokens the BatchedKVCache holds (ref.forward, batched)."""
    start = len(cache)
    if len({len(s) for s in seqs}) != 1 or not start < len(seqs[0]):
        raise ValueError(f"need sequences of one length beyond the {start} cached tokens")
    positions = list(range(start, len(seqs[0])))
    r = batched_embedding(seqs, start, weights, cfg)
    for layer in range(cfg["num_layers"]):
        r = ref.shortcut_layer(r, weights, layer, cfg, positions, cache.layers[layer],
                               attention=batched_mla)
    h = ref.rms_norm(r, weights["model.norm.weight"], cfg["rms_norm_eps"])
    return ref.linear(h, weights["lm_head.weight"])


def batched_greedy_generate_cached(weights, cfg, prompts, max_new_tokens, timings=None):
    """greedy_generate_cached(stop_at_eos=False) of each prompt, run as one batch."""
    seqs = [[int(t) for t in p] for p in prompts]
    ids, rows = [[] for _ in seqs], []
    cache = BatchedKVCache(cfg)
    t0 = time.perf_counter()
    t1 = None
    for _ in range(max_new_tokens):
        last = batched_forward(seqs, weights, cfg, cache)[:, -1]  # [B, V]
        if t1 is None:
            t1 = time.perf_counter()
        for b, seq in enumerate(seqs):
            ids[b].append(ref.argmax_first(last[b]))
            seq.append(ids[b][-1])
        rows.append(last)
    t2 = time.perf_counter()
    if timings is not None:
        timings["prefill_s"] = (t1 or t2) - t0
        timings["decode_s"] = t2 - (t1 or t2)
    V = cfg["vocab_size"]
    return ids, torch.stack(rows, dim=1) if rows else torch.zeros(len(seqs), 0, V)
