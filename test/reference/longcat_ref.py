#!/usr/bin/env python3
"""PyTorch reference for LongCat-Flash-Lite: n-gram embedding and full forward.

Written from docs/design.md §2-§4 (the HF semantics), independently of the
ember C++ code, so that the end-to-end tests compare two separate derivations.
Everything is plain, slow, obviously-correct code; accuracy beats speed here.

API (weights: dict name -> float32 tensor from load_safetensors; cfg: the
config.json dict; tokens/prompt: list of ints):
  load_config(dir), load_safetensors(dir)  (from checkpoint_io.py)
  ngram_ids(tokens, cfg) -> int64 [T, E]; ngram_embedding(tokens, weights, cfg) -> [T, D]
  forward(tokens, weights, cfg, cache=None, return_hidden=False) -> float32 logits [T, V]
  greedy_generate(weights, cfg, prompt, max_new_tokens) -> (ids, float32 [n, V] logits)
      full recompute at every step; the reference the tests compare against
      (cached and batched decoding, for timing: longcat_decode.py)
  mtp(tokens, hidden, weights, cfg, start=0, cache=None) -> (float32 logits [T, V],
      hidden_out [T, D]): the MTP drafter block on rows (tokens[t], hidden[t]) at
      positions start+t, with its own AttentionCache
  mtp_prompt_logits(prompt, weights, cfg) -> float32 [n-1, V]: the MTP logits of
      prompt[1:] given the target's final hidden states of prompt[:-1]
Building blocks: rms_norm, swiglu, mla, route, moe, shortcut_layer, rope_inv_freq,
rope_cos_sin, apply_rope, softmax_scale, yarn_get_mscale, yarn_find_correction_range.
Compute is float32 (the n-gram embedding sums in float64, then rounds).
"""

import argparse
import json
import math

import numpy as np
import torch

from checkpoint_io import load_config, load_safetensors  # noqa: F401 (ref.load_* for the tests)


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
    return embed_ids(tokens, ngram_ids(tokens, cfg), weights)


def embed_ids(tokens, ids, weights):
    """ngram_embedding given the n-gram ids [T, E] of the tokens."""
    x = torch.tensor([int(t) for t in tokens], dtype=torch.int64)
    # float64 so that the reference is the accurate side of every comparison
    # (rows are gathered first, then widened: the tables can be GBs).
    acc = weights["model.embed_tokens.weight"][x].double()
    E = ids.shape[1]
    for i in range(E):
        rows = weights[f"model.ngram_embeddings.embedders.{i}.weight"][ids[:, i]]
        proj = weights[f"model.ngram_embeddings.post_projs.{i}.weight"].double()
        acc = acc + rows.double() @ proj.T  # proj is [D, D/E]: y = P @ row
    return (acc / (1 + E)).float()


def ngram_embedding_tail(tokens, start, weights, cfg):
    """ngram_embedding(tokens, ...)[start:] without recomputing the prefix.

    A row looks back at most N-1 positions, and positions before a window's
    start count as token 0 exactly like those before the sequence start, so the
    rows from `start` on only need the window tokens[start-(N-1):].
    """
    first = max(0, start - (cfg["emb_neighbor_num"] - 1))
    window = [int(t) for t in tokens[first:]]
    return ngram_embedding(window, weights, cfg)[start - first:]


# ---------------------------------------------------------------------- RoPE
# docs/design.md §3 and HF DeepSeek-V2 `DeepseekV2YarnRotaryEmbedding`. The
# frequencies and angles are computed in float64; cos/sin are then rounded to
# float32 like every other activation.

def yarn_get_mscale(scale, mscale):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def yarn_find_correction_dim(num_rotations, dim, base, max_position_embeddings):
    """The (fractional) pair index whose wavelength fits num_rotations times."""
    return (dim * math.log(max_position_embeddings / (num_rotations * 2 * math.pi))
            / (2 * math.log(base)))


def yarn_find_correction_range(low_rot, high_rot, dim, base, max_position_embeddings):
    low = math.floor(yarn_find_correction_dim(low_rot, dim, base, max_position_embeddings))
    high = math.ceil(yarn_find_correction_dim(high_rot, dim, base, max_position_embeddings))
    return max(low, 0), min(high, dim - 1)


def yarn_params(cfg):
    """rope_scaling with the HF defaults filled in, or None without YaRN."""
    rs = cfg.get("rope_scaling")
    if rs is None:
        return None
    kind = rs.get("type", rs.get("rope_type"))
    if kind != "yarn":
        raise NotImplementedError(f"rope_scaling type {kind!r} (only 'yarn')")
    if "original_max_position_embeddings" not in rs:
        raise ValueError("rope_scaling: original_max_position_embeddings is required")
    return {"factor": float(rs["factor"]),
            "original": int(rs["original_max_position_embeddings"]),
            "beta_fast": float(rs.get("beta_fast", 32)),
            "beta_slow": float(rs.get("beta_slow", 1)),
            "mscale": float(rs.get("mscale", 1)),
            "mscale_all_dim": float(rs.get("mscale_all_dim", 0))}


def rope_inv_freq(cfg):
    """float64 [rope_dim/2]: the angle of pair i at position p is p*inv_freq[i]."""
    dim, base = cfg["qk_rope_head_dim"], float(cfg["rope_theta"])
    freq_extra = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    yarn = yarn_params(cfg)
    if yarn is None:
        return freq_extra
    freq_inter = freq_extra / yarn["factor"]
    low, high = yarn_find_correction_range(yarn["beta_fast"], yarn["beta_slow"], dim,
                                           base, yarn["original"])
    if low == high:
        high += 0.001  # as HF yarn_linear_ramp_mask: avoid a division by zero
    ramp = ((torch.arange(dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    return freq_inter * ramp + freq_extra * (1 - ramp)


def rope_cos_sin_scale(cfg):
    """The factor YaRN puts on cos and sin (1 without YaRN)."""
    yarn = yarn_params(cfg)
    if yarn is None:
        return 1.0
    return (yarn_get_mscale(yarn["factor"], yarn["mscale"])
            / yarn_get_mscale(yarn["factor"], yarn["mscale_all_dim"]))


def rope_cos_sin(cfg, positions):
    """float32 cos, sin [len(positions), rope_dim/2]."""
    angles = torch.outer(torch.as_tensor(positions, dtype=torch.float64), rope_inv_freq(cfg))
    scale = rope_cos_sin_scale(cfg)
    return (angles.cos() * scale).float(), (angles.sin() * scale).float()


def apply_rope(x, cos, sin):
    """Interleaved RoPE: pair i = (x[2i], x[2i+1]) rotated by the angle of row t.

    x: [T, ..., rope_dim]; cos, sin: [T, rope_dim/2].
    """
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (cos.shape[-1],)
    cos, sin = cos.reshape(shape), sin.reshape(shape)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    y0 = x0 * cos - x1 * sin
    y1 = x1 * cos + x0 * sin
    return torch.stack([y0, y1], dim=-1).flatten(-2)


def softmax_scale(cfg):
    scale = (cfg["qk_nope_head_dim"] + cfg["qk_rope_head_dim"]) ** -0.5
    yarn = yarn_params(cfg)
    if yarn is not None and yarn["mscale_all_dim"]:
        mscale = yarn_get_mscale(yarn["factor"], yarn["mscale_all_dim"])
        scale = scale * mscale * mscale
    return scale


# ---------------------------------------------------------------- sublayers
# Activations are float32 [T, ...]; weights come from load_safetensors (float32,
# bf16/f16 widened exactly), so every matmul, norm and softmax runs in float32
# (the selfcheck also runs the same code on float64 weights and activations).
# Linear weights are [out, in]: y = x @ W^T.

LATENT_NORM_EPS = 1e-6  # q_a_layernorm and kv_a_layernorm


def linear(x, w):
    return x @ w.T


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def swiglu(x, W, prefix):
    """down(silu(gate x) * up x) with weights {prefix}{gate,up,down}_proj.weight."""
    gate = linear(x, W[prefix + "gate_proj.weight"])
    up = linear(x, W[prefix + "up_proj.weight"])
    return linear(torch.nn.functional.silu(gate) * up, W[prefix + "down_proj.weight"])


class AttentionCache:
    """One attention sublayer's cache in the NON-absorbed form: per token the
    per-head k_nope and v (from kv_b) and the shared, already rotated k_rope.
    Tokens run along `seq_dim` (1 for a batch of sequences of one length)."""

    def __init__(self, seq_dim=0):
        self.seq_dim = seq_dim
        self.k_nope = self.k_rope = self.v = None

    def __len__(self):
        return 0 if self.k_nope is None else self.k_nope.shape[self.seq_dim]

    def append(self, k_nope, k_rope, v):
        if self.k_nope is None:
            self.k_nope, self.k_rope, self.v = k_nope, k_rope, v
        else:
            self.k_nope = torch.cat([self.k_nope, k_nope], dim=self.seq_dim)
            self.k_rope = torch.cat([self.k_rope, k_rope], dim=self.seq_dim)
            self.v = torch.cat([self.v, v], dim=self.seq_dim)
        return self.k_nope, self.k_rope, self.v


def mla(x, W, prefix, cfg, positions, cache=None):
    """Multi-head latent attention (DeepSeek-V2, non-absorbed), causal.

    x: [T, D] at `positions` (consecutive). Without a cache the T tokens attend
    to each other; with one they are appended to it first and attend to
    everything it holds (its first token has position 0).
    """
    T, D = x.shape
    H = cfg["num_attention_heads"]
    nope, rope, dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    q_lora, kv_lora = cfg["q_lora_rank"], cfg["kv_lora_rank"]

    q = linear(rms_norm(linear(x, W[prefix + "q_a_proj.weight"]),
                        W[prefix + "q_a_layernorm.weight"], LATENT_NORM_EPS),
               W[prefix + "q_b_proj.weight"]).reshape(T, H, nope + rope)
    if cfg["mla_scale_q_lora"]:
        q = q * math.sqrt(D / q_lora)  # both the nope and the rope part
    q_nope, q_rope = q[..., :nope], q[..., nope:]

    c = linear(x, W[prefix + "kv_a_proj_with_mqa.weight"])  # [T, kv_lora + rope]
    c_kv = rms_norm(c[:, :kv_lora], W[prefix + "kv_a_layernorm.weight"], LATENT_NORM_EPS)
    if cfg["mla_scale_kv_lora"]:
        c_kv = c_kv * math.sqrt(D / kv_lora)
    k_rope = c[:, kv_lora:]  # [T, rope], shared by all heads
    kv = linear(c_kv, W[prefix + "kv_b_proj.weight"]).reshape(T, H, nope + dv)
    k_nope, v = kv[..., :nope], kv[..., nope:]

    cos, sin = (t.to(x.dtype) for t in rope_cos_sin(cfg, positions))
    q_rope = apply_rope(q_rope, cos, sin)
    k_rope = apply_rope(k_rope, cos, sin)

    q_pos = torch.as_tensor(positions, dtype=torch.int64)
    if cache is None:
        k_pos = q_pos
    else:
        if len(cache) != int(q_pos[0]):
            raise ValueError(f"cache holds {len(cache)} tokens, next position {int(q_pos[0])}")
        k_nope, k_rope, v = cache.append(k_nope, k_rope, v)
        k_pos = torch.arange(len(cache))

    # scores[h, t, s] = (q_nope[t,h].k_nope[s,h] + q_rope[t,h].k_rope[s]) * scale
    scores = (torch.einsum("thd,shd->hts", q_nope, k_nope)
              + torch.einsum("thd,sd->hts", q_rope, k_rope)) * softmax_scale(cfg)
    future = k_pos[None, :] > q_pos[:, None]  # [T, S]: causal mask
    scores = scores.masked_fill(future, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    out = torch.einsum("hts,shd->thd", probs, v).reshape(T, H * dv)
    return linear(out, W[prefix + "o_proj.weight"])


def route(u, W, prefix, cfg):
    """Router: (experts [T, k] int64, weights [T, k] float32)."""
    logits = linear(u, W[prefix + "router.classifier.weight"])
    p = torch.softmax(logits, dim=-1)
    bias = W[prefix + "router.e_score_correction_bias"]
    # The bias only selects; the weights are the unbiased probabilities.
    experts = torch.topk(p + bias, cfg["moe_topk"], dim=-1).indices
    weights = p.gather(-1, experts) * cfg["routed_scaling_factor"]
    return experts, weights


def moe(u, W, prefix, cfg):
    """sum_j weight_j * expert_{e_j}(u); zero experts (index >= n_routed) are identities.

    u: [..., D], each row routed on its own (batched decode passes [B, T, D])."""
    shape, u = u.shape, u.reshape(-1, u.shape[-1])
    experts, weights = route(u, W, prefix, cfg)
    out = torch.zeros_like(u)
    n_routed = cfg["n_routed_experts"]
    for e in torch.unique(experts).tolist():
        tok, slot = (experts == e).nonzero(as_tuple=True)
        x = u[tok]
        y = swiglu(x, W, f"{prefix}experts.{e}.") if e < n_routed else x
        out.index_add_(0, tok, weights[tok, slot][:, None] * y)
    return out.reshape(shape)


def shortcut_layer(r, W, layer, cfg, positions, caches=None, attention=mla):
    """One shortcut decoder layer (docs/design.md §3); caches: [2 AttentionCache] or None.

    Everything but `attention` treats the rows of r independently, so a batched
    attention (longcat_decode.py) makes this the layer of a batch [B, T, D]."""
    p = f"model.layers.{layer}."
    eps = cfg["rms_norm_eps"]
    cache0, cache1 = caches if caches is not None else (None, None)
    r = r + attention(rms_norm(r, W[p + "input_layernorm.0.weight"], eps), W, p + "self_attn.0.",
                      cfg, positions, cache0)
    u = rms_norm(r, W[p + "post_attention_layernorm.0.weight"], eps)
    s = moe(u, W, p + "mlp.", cfg)
    r = r + swiglu(u, W, p + "mlps.0.")
    r = r + attention(rms_norm(r, W[p + "input_layernorm.1.weight"], eps), W, p + "self_attn.1.",
                      cfg, positions, cache1)
    r = r + swiglu(rms_norm(r, W[p + "post_attention_layernorm.1.weight"], eps), W,
                   p + "mlps.1.") + s
    return r


# -------------------------------------------------------------------- model

class KVCache:
    """Per layer, the caches of its two attention sublayers."""

    def __init__(self, cfg):
        self.layers = [[AttentionCache(), AttentionCache()] for _ in range(cfg["num_layers"])]

    def __len__(self):
        return len(self.layers[0][0])


def forward(tokens, weights, cfg, cache=None, return_hidden=False):
    """float32 logits [T_new, V] of the causal LM on token ids `tokens`.

    Without a cache: the full recompute, T_new = len(tokens), positions 0..T-1.
    With a KVCache holding the first len(cache) tokens of the same sequence:
    only the remaining tokens are computed (and appended to the cache).
    return_hidden also returns the final hidden states (after model.norm).
    """
    start = 0 if cache is None else len(cache)
    if not start < len(tokens):
        raise ValueError(f"nothing to compute: {len(tokens)} tokens, {start} cached")
    positions = list(range(start, len(tokens)))
    r = ngram_embedding_tail(tokens, start, weights, cfg)
    for layer in range(cfg["num_layers"]):
        r = shortcut_layer(r, weights, layer, cfg, positions,
                           None if cache is None else cache.layers[layer])
    h = rms_norm(r, weights["model.norm.weight"], cfg["rms_norm_eps"])
    logits = linear(h, weights["lm_head.weight"])
    return (logits, h) if return_hidden else logits


# ---------------------------------------------------------------------- MTP
# docs/design.md §3 "MTP block" and ModelAbi.h's ember_mtp.

MTP = "model.mtp.layers.0."


def mtp_word_embedding(weights):
    """The MTP block's own word embedding when the checkpoint has one, else the target's."""
    own = weights.get("model.mtp.embed_tokens.weight")
    return own if own is not None else weights["model.embed_tokens.weight"]


def mtp(tokens, hidden, weights, cfg, start=0, cache=None):
    """The MTP block on T rows at positions start..start+T-1.

    Row t combines the word embedding of tokens[t] with hidden[t], the hidden
    state of the position before (the target's final, post-model.norm one, or
    the block's own hidden_out when drafting further):
      x = eh_proj([enorm(emb); hnorm(hidden)]); x += MLA(input_layernorm(x));
      x += SwiGLU(post_attention_layernorm(x)); hidden_out = norm(x);
      logits = lm_head(hidden_out).
    Without a cache start must be 0 and the T rows attend to each other
    causally; with an AttentionCache holding positions 0..start-1 they are
    appended to it and attend to everything it holds.
    Returns (logits [T, V], hidden_out [T, D]).
    """
    W, eps = weights, cfg["rms_norm_eps"]
    T = len(tokens)
    if cache is None and start != 0:
        raise ValueError(f"start {start} without a cache: positions 0..{start - 1} are unknown")
    if hidden.shape != (T, cfg["hidden_size"]):
        raise ValueError(f"hidden {tuple(hidden.shape)}, want ({T}, {cfg['hidden_size']})")
    ids = torch.tensor([int(t) for t in tokens], dtype=torch.int64)
    e = mtp_word_embedding(W)[ids].to(hidden.dtype)
    joined = torch.cat([rms_norm(e, W[MTP + "enorm.m.weight"], eps),
                        rms_norm(hidden, W[MTP + "hnorm.m.weight"], eps)], dim=-1)
    x = linear(joined, W[MTP + "eh_proj.weight"])
    positions = list(range(start, start + T))
    x = x + mla(rms_norm(x, W[MTP + "input_layernorm.weight"], eps), W, MTP + "self_attn.",
                cfg, positions, cache)
    x = x + swiglu(rms_norm(x, W[MTP + "post_attention_layernorm.weight"], eps), W,
                   MTP + "transformer_layer.mlp.")
    h = rms_norm(x, W["model.mtp.norm.weight"], eps)
    return linear(h, W["lm_head.weight"]), h


def mtp_prompt_logits(prompt, weights, cfg):
    """float32 [n-1, V]: after the target's prefill of prompt x_0..x_{n-1} with
    final hidden states h_0..h_{n-1}, the MTP logits of rows (x_{t+1}, h_t) at
    positions t = 0..n-2 (what ember-run --dump-mtp-logits writes)."""
    if len(prompt) < 2:
        raise ValueError("the MTP logits of a prompt need at least 2 tokens")
    _, h = forward(prompt, weights, cfg, return_hidden=True)
    return mtp(prompt[1:], h[:-1], weights, cfg)[0]


def argmax_first(row):
    """Index of the largest value; the lowest such index on ties."""
    row = row.double()
    return int(torch.nonzero(row == row.max())[0, 0])


def greedy_generate(weights, cfg, prompt, max_new_tokens):
    """Greedy continuation by FULL RECOMPUTE of the whole sequence at every step.

    Stops after max_new_tokens, or right after generating eos_token_id (which
    is included). Returns (generated ids, float32 [n, V] logits), logits row i
    being the row token i was chosen from (row 0: last row of the prompt).
    """
    seq, ids, rows = [int(t) for t in prompt], [], []
    for _ in range(max_new_tokens):
        row = forward(seq, weights, cfg)[-1]
        ids.append(argmax_first(row))
        rows.append(row)
        seq.append(ids[-1])
        if ids[-1] == cfg["eos_token_id"]:
            break
    V = cfg["vocab_size"]
    return ids, torch.stack(rows) if rows else torch.zeros(0, V)


# ------------------------------------------------------------ test weights

def random_weights(cfg, seed=0, bf16=False):
    """Random weights with the checkpoint names and ember-synth's scales, for
    tests that must not depend on ember (not ember-synth's values)."""
    g = torch.Generator().manual_seed(seed)
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    nope, rope, dv = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    W = {}

    def add(name, shape, mean, std):
        t = mean + std * torch.randn(*shape, generator=g)
        if bf16:  # round to bf16 (truncation is enough for a test) and widen
            t = (t.view(torch.int32) & -65536).view(torch.float32)
        W[name] = t

    def lin(name, out, inp):
        add(name, (out, inp), 0.0, inp ** -0.5)

    def norm(name, n):
        add(name, (n,), 1.0, 0.05)

    def ffn(prefix, hidden):
        lin(prefix + "gate_proj.weight", hidden, D)
        lin(prefix + "up_proj.weight", hidden, D)
        lin(prefix + "down_proj.weight", D, hidden)

    def attention(a):
        lin(a + "q_a_proj.weight", cfg["q_lora_rank"], D)
        norm(a + "q_a_layernorm.weight", cfg["q_lora_rank"])
        lin(a + "q_b_proj.weight", H * (nope + rope), cfg["q_lora_rank"])
        lin(a + "kv_a_proj_with_mqa.weight", cfg["kv_lora_rank"] + rope, D)
        norm(a + "kv_a_layernorm.weight", cfg["kv_lora_rank"])
        lin(a + "kv_b_proj.weight", H * (nope + dv), cfg["kv_lora_rank"])
        lin(a + "o_proj.weight", D, H * dv)

    layout = table_layout(cfg)
    width = D // len(layout)
    add("model.embed_tokens.weight", (cfg["vocab_size"], D), 0.0, 0.5)
    for i, (_, M) in enumerate(layout):
        add(f"model.ngram_embeddings.embedders.{i}.weight", (M, width), 0.0, 0.5)
        lin(f"model.ngram_embeddings.post_projs.{i}.weight", D, width)
    experts = cfg["n_routed_experts"] + cfg["zero_expert_num"]
    for l in range(cfg["num_layers"]):
        p = f"model.layers.{l}."
        for k in "01":
            norm(p + f"input_layernorm.{k}.weight", D)
            norm(p + f"post_attention_layernorm.{k}.weight", D)
            attention(p + f"self_attn.{k}.")
            ffn(p + f"mlps.{k}.", cfg["ffn_hidden_size"])
        lin(p + "mlp.router.classifier.weight", experts, D)
        W[p + "mlp.router.e_score_correction_bias"] = 0.01 * torch.randn(experts, generator=g)
        for e in range(cfg["n_routed_experts"]):
            ffn(p + f"mlp.experts.{e}.", cfg["expert_ffn_hidden_size"])
    norm("model.norm.weight", D)
    lin("lm_head.weight", cfg["vocab_size"], D)
    # The MTP block (names as ember-synth writes them), drawn last so that the
    # target's tensors are the same with or without it.
    lin(MTP + "eh_proj.weight", D, 2 * D)
    for name in ("enorm.m", "hnorm.m", "input_layernorm", "post_attention_layernorm"):
        norm(MTP + name + ".weight", D)
    attention(MTP + "self_attn.")
    ffn(MTP + "transformer_layer.mlp.", cfg["ffn_hidden_size"])
    norm("model.mtp.norm.weight", D)
    return W


# ----------------------------------------------------------------------- CLI

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="HF-format checkpoint dir")
    p.add_argument("--prompt-ids", required=True, help="comma-separated ids")
    p.add_argument("--dump-embeddings", help="write [T, D] float32 .npy")
    p.add_argument("--dump-ngram-ids", help="write [T, E] int64 .npy")
    p.add_argument("--dump-logits", help="write the [T, V] float32 prefill logits .npy")
    p.add_argument("--max-new-tokens", type=int, default=0,
                   help="greedy continuation (full recompute); prints the ids as JSON")
    p.add_argument("--dump-step-logits", help="write the [n, V] float32 logits of each "
                   "generated token's choice .npy")
    p.add_argument("--dump-mtp-logits", help="write the [n-1, V] float32 MTP logits of "
                   "prompt[1:] given the prefill's hidden states of prompt[:-1] .npy")
    args = p.parse_args()

    cfg = load_config(args.model)
    tokens = [int(s) for s in args.prompt_ids.split(",")]
    if args.dump_ngram_ids:
        np.save(args.dump_ngram_ids, ngram_ids(tokens, cfg).numpy())
    if not (args.dump_embeddings or args.dump_logits or args.max_new_tokens
            or args.dump_mtp_logits):
        return
    weights = load_safetensors(args.model)
    if args.dump_embeddings:
        np.save(args.dump_embeddings, ngram_embedding(tokens, weights, cfg).numpy())
    if args.dump_logits:
        np.save(args.dump_logits, forward(tokens, weights, cfg).numpy())
    if args.dump_mtp_logits:
        np.save(args.dump_mtp_logits, mtp_prompt_logits(tokens, weights, cfg).numpy())
    if args.max_new_tokens:
        ids, rows = greedy_generate(weights, cfg, tokens, args.max_new_tokens)
        if args.dump_step_logits:
            np.save(args.dump_step_logits, rows.numpy())
        print(json.dumps({"generated_ids": ids}))


if __name__ == "__main__":
    main()
