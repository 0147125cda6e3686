# REQUIRES: torch
# RUN: %python %s
"""Checks the PyTorch reference itself, without ember (its n-grams and
checkpoint reading: reference_inputs_check.py).

The RoPE/YaRN expected values come from the definitions in docs/design.md §3,
worked out on paper in the comments, not from running the reference. The model checks compare the reference with an independent
derivation (absorbed MLA, hand-composed layer wiring) or with a property it
must have (cached decode = full recompute, causality, zero-expert algebra).
"""

import json
import math
import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reference"))
import longcat_ref as ref  # noqa: E402
import longcat_decode as dec  # noqa: E402


PRESETS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "models", "presets")


def preset(name):
    with open(os.path.join(PRESETS_DIR, name + ".json")) as f:
        return json.load(f)


def rel_err(got, want):
    return float((got.double() - want.double()).abs().max() / want.double().abs().max())


class RmsNorm(unittest.TestCase):
    def test_by_hand(self):
        # mean([3^2, 4^2]) = 12.5 -> [3, 4] / sqrt(12.5 + 0.5) * [1, 2]
        y = ref.rms_norm(torch.tensor([[3.0, 4.0]]), torch.tensor([1.0, 2.0]), 0.5)
        self.assertTrue(torch.allclose(y, torch.tensor([[3 / 13 ** 0.5, 8 / 13 ** 0.5]])))


class Rope(unittest.TestCase):
    def test_plain_inv_freq_by_hand(self):
        # rope dim 8, theta 5e6: inv_freq[i] = 5e6^(-2i/8) = 5e6^(-i/4).
        f = ref.rope_inv_freq(preset("tiny"))
        want = torch.tensor([5e6 ** (-i / 4) for i in range(4)], dtype=torch.float64)
        self.assertTrue(torch.allclose(f, want, rtol=1e-12, atol=0))

    def test_yarn_by_hand(self):
        # tiny-yarn: dim 8, base 5e6, original 512, factor 10, betas 32/1.
        # correction dim(r) = 8 ln(512 / (2 pi r)) / (2 ln 5e6):
        #   r=32: 8*ln(2.546)/30.85 = 0.242 -> floor 0; r=1: 8*ln(81.49)/30.85 = 1.14 -> ceil 2
        cfg = preset("tiny-yarn")
        self.assertEqual(ref.yarn_find_correction_range(32, 1, 8, 5e6, 512), (0, 2))
        # ramp = clamp(i/2, 0, 1) = [0, .5, 1, 1]; inv = extra*(1-ramp) + extra/10*ramp
        extra = [5e6 ** (-i / 4) for i in range(4)]
        want = [extra[0], extra[1] * (0.5 + 0.05), extra[2] / 10, extra[3] / 10]
        self.assertTrue(torch.allclose(ref.rope_inv_freq(cfg),
                                       torch.tensor(want, dtype=torch.float64), rtol=1e-12))
        # mscale == mscale_all_dim == 1: cos/sin unscaled; softmax scale
        # 24^-0.5 * (1 + 0.1 ln 10)^2.
        self.assertEqual(ref.rope_cos_sin_scale(cfg), 1.0)
        self.assertAlmostEqual(ref.softmax_scale(cfg), 24 ** -0.5 * (1 + 0.1 * math.log(10)) ** 2)
        self.assertAlmostEqual(ref.softmax_scale(preset("tiny")), 24 ** -0.5)

    def test_yarn_mscale_defaults(self):
        # mscale 1 and mscale_all_dim 0 (the defaults): cos/sin get
        # yarn_get_mscale(10, 1) / 1 = 1 + 0.1 ln 10 and the softmax scale is plain.
        cfg = preset("tiny-yarn")
        cfg["rope_scaling"] = {"type": "yarn", "factor": 10.0,
                               "original_max_position_embeddings": 512}
        self.assertAlmostEqual(ref.rope_cos_sin_scale(cfg), 1 + 0.1 * math.log(10))
        self.assertAlmostEqual(ref.softmax_scale(cfg), 24 ** -0.5)
        self.assertEqual(ref.yarn_get_mscale(1.0, 5.0), 1.0)

    def test_yarn_factor_one_is_plain(self):
        cfg = preset("tiny-yarn")
        cfg["rope_scaling"]["factor"] = 1.0
        self.assertTrue(torch.equal(ref.rope_inv_freq(cfg), ref.rope_inv_freq(preset("tiny"))))
        self.assertEqual(ref.softmax_scale(cfg), ref.softmax_scale(preset("tiny")))

    def test_position_zero_is_identity(self):
        x = torch.randn(1, 3, 8)
        cos, sin = ref.rope_cos_sin(preset("tiny-yarn"), [0])
        self.assertTrue(torch.equal(ref.apply_rope(x, cos, sin), x))

    def test_interleaved_pairs_and_norms(self):
        cfg = preset("tiny")
        cos, sin = ref.rope_cos_sin(cfg, [3])
        # inv_freq[0] = 1: the pair (x0, x1) = (1, 0) turns by 3 radians; the
        # other coordinates stay 0 (pairs are adjacent, not split halves).
        y = ref.apply_rope(torch.tensor([[1.0, 0, 0, 0, 0, 0, 0, 0]]), cos, sin)
        want = torch.tensor([[math.cos(3), math.sin(3), 0, 0, 0, 0, 0, 0]])
        self.assertTrue(torch.allclose(y, want, atol=1e-7))
        # (x2, x3) = (0, 1) turns by 3*inv_freq[1]: y2 = -sin, y3 = cos.
        a = 3 * 5e6 ** -0.25
        y = ref.apply_rope(torch.tensor([[0.0, 0, 0, 1, 0, 0, 0, 0]]), cos, sin)
        want = torch.tensor([[0, 0, -math.sin(a), math.cos(a), 0, 0, 0, 0]])
        self.assertTrue(torch.allclose(y, want, atol=1e-7))
        # Every pair keeps its norm.
        x = torch.randn(5, 2, 8)
        cos, sin = ref.rope_cos_sin(cfg, [0, 1, 7, 100, 4000])
        y = ref.apply_rope(x, cos, sin)
        self.assertTrue(torch.allclose(y.reshape(5, 2, 4, 2).norm(dim=-1),
                                       x.reshape(5, 2, 4, 2).norm(dim=-1), rtol=1e-5))

    def test_scores_depend_on_offset_only(self):
        cfg = preset("tiny-yarn")
        q, k = torch.randn(1, 8), torch.randn(1, 8)

        def score(i, j):
            ci, si = ref.rope_cos_sin(cfg, [i])
            cj, sj = ref.rope_cos_sin(cfg, [j])
            return float((ref.apply_rope(q, ci, si) * ref.apply_rope(k, cj, sj)).sum())
        self.assertAlmostEqual(score(5, 2), score(13, 10), places=4)
        self.assertAlmostEqual(score(0, 0), float((q * k).sum()), places=5)


class Router(unittest.TestCase):
    CFG = {"n_routed_experts": 2, "zero_expert_num": 4, "moe_topk": 4,
           "routed_scaling_factor": 6.0, "expert_ffn_hidden_size": 3, "hidden_size": 5}

    def weights(self, bias):
        g = torch.Generator().manual_seed(7)
        W = {"mlp.router.classifier.weight": torch.randn(6, 5, generator=g),
             "mlp.router.e_score_correction_bias": torch.tensor(bias)}
        for e in range(2):
            for name, shape in (("gate", (3, 5)), ("up", (3, 5)), ("down", (5, 3))):
                W[f"mlp.experts.{e}.{name}_proj.weight"] = torch.randn(*shape, generator=g)
        return W

    def test_zero_experts_only(self):
        # The bias makes the 4 zero experts win; their weights are the UNbiased
        # probabilities times 6, not renormalised: MoE(u) = 6 * sum p_zero * u.
        W = self.weights([-10.0, -10.0, 10.0, 10.0, 10.0, 10.0])
        u = torch.randn(3, 5)
        p = torch.softmax(u @ W["mlp.router.classifier.weight"].T, -1)
        experts, weights = ref.route(u, W, "mlp.", self.CFG)
        self.assertEqual(sorted(experts[0].tolist()), [2, 3, 4, 5])
        self.assertTrue(torch.allclose(weights.sum(-1), 6 * p[:, 2:].sum(-1)))
        want = 6 * p[:, 2:].sum(-1, keepdim=True) * u
        self.assertTrue(torch.allclose(ref.moe(u, W, "mlp.", self.CFG), want, rtol=1e-5))

    def test_one_real_expert(self):
        # topk 1 and a bias for expert 1: MoE(u) = 6 p_1 down(silu(gate u) * up u).
        cfg = dict(self.CFG, moe_topk=1)
        W = self.weights([0.0, 10.0, 0.0, 0.0, 0.0, 0.0])
        u = torch.randn(4, 5)
        p = torch.softmax(u @ W["mlp.router.classifier.weight"].T, -1)
        g, up, d = (W[f"mlp.experts.1.{n}_proj.weight"] for n in ("gate", "up", "down"))
        h = u @ g.T
        want = 6 * p[:, 1:2] * ((h / (1 + torch.exp(-h)) * (u @ up.T)) @ d.T)
        self.assertTrue(torch.allclose(ref.moe(u, W, "mlp.", cfg), want, rtol=1e-5, atol=1e-6))

    def test_moe_equals_per_token_sum(self):
        W = self.weights([0.0] * 6)
        cfg = dict(self.CFG, moe_topk=3)
        u = torch.randn(6, 5)
        experts, weights = ref.route(u, W, "mlp.", cfg)
        got = ref.moe(u, W, "mlp.", cfg)
        for t in range(6):
            want = torch.zeros(5)
            for e, w in zip(experts[t].tolist(), weights[t]):
                want += w * (ref.swiglu(u[t:t + 1], W, f"mlp.experts.{e}.")[0] if e < 2 else u[t])
            self.assertTrue(torch.allclose(got[t], want, rtol=1e-5, atol=1e-6))


class Model(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.models = {}
        for i, name in enumerate(["tiny", "tiny-n3k2", "tiny-yarn"]):
            cfg = preset(name)
            cls.models[name] = (cfg, ref.random_weights(cfg, seed=i + 1, bf16=(i == 1)))

    def test_mla_equals_absorbed_form(self):
        # Absorbed MLA (what a latent-cache decoder does), derived separately:
        # q_lat[h] = W_uk[h]^T q_nope[h]; score = q_lat . c_kv + q_rope . k_rope;
        # out[h] = W_uv[h] (sum_s P_s c_kv_s). Compared for the last query.
        for name, (cfg, W) in self.models.items():
            pre = "model.layers.1.self_attn.0."
            T, D, H = 9, cfg["hidden_size"], cfg["num_attention_heads"]
            nope, rope, dv, L = (cfg[k] for k in ("qk_nope_head_dim", "qk_rope_head_dim",
                                                  "v_head_dim", "kv_lora_rank"))
            x = torch.randn(T, D, dtype=torch.float64)
            got = ref.mla(x.float(), W, pre, cfg, list(range(T)))[-1]
            Wd = {k: v.double() for k, v in W.items() if k.startswith(pre)}

            def norm(v, w):
                return v / torch.sqrt((v * v).mean(-1, keepdim=True) + 1e-6) * w
            q = norm(x[-1] @ Wd[pre + "q_a_proj.weight"].T, Wd[pre + "q_a_layernorm.weight"])
            q = (q @ Wd[pre + "q_b_proj.weight"].T).reshape(H, nope + rope) * math.sqrt(D / cfg["q_lora_rank"])
            c = x @ Wd[pre + "kv_a_proj_with_mqa.weight"].T
            ckv = norm(c[:, :L], Wd[pre + "kv_a_layernorm.weight"]) * math.sqrt(D / L)
            kb = Wd[pre + "kv_b_proj.weight"].reshape(H, nope + dv, L)
            inv = ref.rope_inv_freq(cfg)
            m = ref.rope_cos_sin_scale(cfg)

            def rot(v, pos):  # interleaved pairs, written with complex numbers
                z = torch.view_as_complex(v.reshape(-1, 2).contiguous())
                z = z * torch.polar(torch.full_like(inv, m), pos * inv)
                return torch.view_as_real(z).reshape(-1)
            qr = torch.stack([rot(q[h, nope:], T - 1) for h in range(H)])
            kr = torch.stack([rot(c[s, L:], s) for s in range(T)])
            out = []
            for h in range(H):
                q_lat = kb[h, :nope].T @ q[h, :nope]
                s = (ckv @ q_lat + kr @ qr[h]) * ref.softmax_scale(cfg)
                P = torch.softmax(s, 0)
                out.append(kb[h, nope:] @ (P @ ckv))
            want = torch.cat(out) @ Wd[pre + "o_proj.weight"].T
            self.assertLess(rel_err(got, want), 1e-5, name)

    def test_layer_wiring(self):
        # Silence sublayers (zero o_proj / down_proj / expert weights) and
        # compare with the composition written out by hand:
        #   r1 = r + MLP_0(post0(r)); out = r1 + MLP_1(post1(r1)) + MoE(post0(r)).
        cfg, W0 = self.models["tiny"]
        W = dict(W0)
        p = "model.layers.0."
        for k in "01":
            W[p + f"self_attn.{k}.o_proj.weight"] = torch.zeros_like(W[p + f"self_attn.{k}.o_proj.weight"])
        eps = cfg["rms_norm_eps"]
        r = torch.randn(5, cfg["hidden_size"])
        post0 = ref.rms_norm(r, W[p + "post_attention_layernorm.0.weight"], eps)
        r1 = r + ref.swiglu(post0, W, p + "mlps.0.")
        post1 = ref.rms_norm(r1, W[p + "post_attention_layernorm.1.weight"], eps)
        want = r1 + ref.swiglu(post1, W, p + "mlps.1.") + ref.moe(post0, W, p + "mlp.", cfg)
        got = ref.shortcut_layer(r, W, 0, cfg, list(range(5)))
        self.assertLess(rel_err(got, want), 1e-6)
        # With the MLPs silenced too, attention 1 sees r + MLA_0(in0(r)) and the
        # output is r + MLA_0(in0(r)) + MLA_1(in1(.)) + MoE(post0(.)).
        W = dict(W0)
        for k in "01":
            W[p + f"mlps.{k}.down_proj.weight"] = torch.zeros_like(W[p + f"mlps.{k}.down_proj.weight"])
        pos = list(range(5))
        a = r + ref.mla(ref.rms_norm(r, W[p + "input_layernorm.0.weight"], eps), W, p + "self_attn.0.", cfg, pos)
        s = ref.moe(ref.rms_norm(a, W[p + "post_attention_layernorm.0.weight"], eps), W, p + "mlp.", cfg)
        b = a + ref.mla(ref.rms_norm(a, W[p + "input_layernorm.1.weight"], eps), W, p + "self_attn.1.", cfg, pos)
        got = ref.shortcut_layer(r, W, 0, cfg, pos)
        self.assertLess(rel_err(got, b + s), 1e-6)

    def test_causal(self):
        # Changing token j leaves the logits of positions < j unchanged, and
        # changes those from j on.
        for name, (cfg, W) in self.models.items():
            toks = [1, 5, 9, 2, 7, 300, 2, 4, 11, 12]
            base = ref.forward(toks, W, cfg)
            changed = list(toks)
            changed[6] = 77
            other = ref.forward(changed, W, cfg)
            self.assertLess(rel_err(other[:6], base[:6]), 1e-6, name)
            self.assertGreater(rel_err(other[6:], base[6:]), 1e-3, name)
            self.assertLess(rel_err(ref.forward(toks[:4], W, cfg), base[:4]), 1e-6, name)

    def test_cached_decode_equals_full_recompute(self):
        for name, (cfg, W) in self.models.items():
            for prompt in ([7], [1, 5, 2, 9, 2, 2, 40, 41] + list(range(100, 130))):
                ids, rows = ref.greedy_generate(W, cfg, prompt, 12)
                ids_c, rows_c = dec.greedy_generate_cached(W, cfg, prompt, 12)
                self.assertEqual(ids, ids_c, name)
                self.assertLess(rel_err(rows_c, rows), 1e-5, name)
                # Row i is the last row of a full forward over prompt + ids[:i].
                for i in (0, len(ids) - 1):
                    want = ref.forward(prompt + ids[:i], W, cfg)[-1]
                    self.assertLess(rel_err(rows[i], want), 1e-6, name)
            # Prefill of several tokens into a non-empty cache.
            toks = [3, 2, 8, 9, 10, 2, 11, 12, 13]
            cache = ref.KVCache(cfg)
            a = ref.forward(toks[:4], W, cfg, cache)
            b = ref.forward(toks, W, cfg, cache)
            self.assertEqual(len(cache), 9)
            self.assertLess(rel_err(torch.cat([a, b]), ref.forward(toks, W, cfg)), 1e-5, name)

    def test_f32_matches_f64(self):
        # The float32 reference against the same code run in float64.
        cfg, W = self.models["tiny-yarn"]
        toks = [1, 5, 9, 2, 7, 300, 2, 4] * 5
        W64 = {k: v.double() for k, v in W.items()}
        orig = ref.ngram_embedding
        try:
            ref.ngram_embedding = lambda t, w, c: ref.embed_ids(t, ref.ngram_ids(t, c), w).double()
            want = ref.forward(toks, W64, cfg)
        finally:
            ref.ngram_embedding = orig
        self.assertEqual(want.dtype, torch.float64)
        self.assertLess(rel_err(ref.forward(toks, W, cfg), want), 1e-5)


class Mtp(unittest.TestCase):
    """The MTP block (docs/design.md §3) against properties it must have and a
    hand-composed wiring; no ember."""

    @classmethod
    def setUpClass(cls):
        Model.setUpClass()  # the same three models
        cls.models = Model.models

    def rows(self, cfg, T, seed=5):
        g = torch.Generator().manual_seed(seed)
        tokens = torch.randint(0, cfg["vocab_size"], (T,), generator=g).tolist()
        tokens[3 % T] = cfg["eos_token_id"]  # EOS is just a token to the drafter
        return tokens, torch.randn(T, cfg["hidden_size"], generator=g)

    def test_names_and_shapes(self):
        # random_weights has the checkpoint's MTP names (docs/design.md §3, as
        # ember-synth writes them), and mtp returns [T, V] and [T, D] float32.
        cfg, W = self.models["tiny"]
        p = "model.mtp.layers.0."
        want = {p + n + ".weight" for n in ("eh_proj", "enorm.m", "hnorm.m", "input_layernorm",
                                             "post_attention_layernorm")}
        want |= {p + "self_attn." + n + ".weight" for n in (
            "q_a_proj", "q_a_layernorm", "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm",
            "kv_b_proj", "o_proj")}
        want |= {p + "transformer_layer.mlp." + n + "_proj.weight" for n in ("gate", "up", "down")}
        want.add("model.mtp.norm.weight")
        self.assertEqual({k for k in W if k.startswith("model.mtp.")}, want)
        D = cfg["hidden_size"]
        self.assertEqual(tuple(W[p + "eh_proj.weight"].shape), (D, 2 * D))
        tokens, hidden = self.rows(cfg, 6)
        logits, h = ref.mtp(tokens, hidden, W, cfg)
        self.assertEqual((logits.dtype, tuple(logits.shape)), (torch.float32, (6, cfg["vocab_size"])))
        self.assertEqual((h.dtype, tuple(h.shape)), (torch.float32, (6, D)))
        self.assertTrue(torch.isfinite(logits).all())
        with self.assertRaises(ValueError):
            ref.mtp(tokens, hidden, W, cfg, start=2)  # no cache for positions 0, 1

    def test_wiring_by_hand(self):
        # With the block's o_proj and down_proj zeroed the layer adds nothing:
        #   h_out = norm(W_eh[:, :D] enorm(emb) + W_eh[:, D:] hnorm(h)), logits = lm_head h_out,
        # written out in float64 with eh_proj split by columns (enorm half first).
        cfg, W0 = self.models["tiny-n3k2"]
        p, D, eps = "model.mtp.layers.0.", cfg["hidden_size"], cfg["rms_norm_eps"]
        W = dict(W0)
        for name in ("self_attn.o_proj.weight", "transformer_layer.mlp.down_proj.weight"):
            W[p + name] = torch.zeros_like(W[p + name])
        tokens, hidden = self.rows(cfg, 5)
        Wd = {k: v.double() for k, v in W.items()}

        def norm(v, w):
            return v / torch.sqrt((v * v).mean(-1, keepdim=True) + eps) * w
        e = Wd["model.embed_tokens.weight"][torch.tensor(tokens)]
        eh = Wd[p + "eh_proj.weight"]
        x = norm(e, Wd[p + "enorm.m.weight"]) @ eh[:, :D].T \
            + norm(hidden.double(), Wd[p + "hnorm.m.weight"]) @ eh[:, D:].T
        want_h = norm(x, Wd["model.mtp.norm.weight"])
        logits, h = ref.mtp(tokens, hidden, W, cfg)
        self.assertLess(rel_err(h, want_h), 1e-6)
        self.assertLess(rel_err(logits, want_h @ Wd["lm_head.weight"].T), 1e-6)
        # The MLP alone: x1 = x + SwiGLU(post(x)), then the final norm.
        W[p + "transformer_layer.mlp.down_proj.weight"] = W0[p + "transformer_layer.mlp.down_proj.weight"]
        Wd = {k: v.double() for k, v in W.items()}
        post = norm(x, Wd[p + "post_attention_layernorm.weight"])
        g = post @ Wd[p + "transformer_layer.mlp.gate_proj.weight"].T
        u = post @ Wd[p + "transformer_layer.mlp.up_proj.weight"].T
        x1 = x + (g * torch.sigmoid(g) * u) @ Wd[p + "transformer_layer.mlp.down_proj.weight"].T
        self.assertLess(rel_err(ref.mtp(tokens, hidden, W, cfg)[1], norm(x1, Wd["model.mtp.norm.weight"])), 1e-6)

    def test_attention_is_the_target_mla(self):
        # The layer's attention is the target's MLA on input_layernorm(x) with
        # the block's own weights (MLP silenced): x + mla(...), then the norm.
        cfg, W0 = self.models["tiny-yarn"]
        p, eps = "model.mtp.layers.0.", cfg["rms_norm_eps"]
        W = dict(W0)
        W[p + "transformer_layer.mlp.down_proj.weight"] = \
            torch.zeros_like(W[p + "transformer_layer.mlp.down_proj.weight"])
        tokens, hidden = self.rows(cfg, 7)
        e = W["model.embed_tokens.weight"][torch.tensor(tokens)]
        x = ref.linear(torch.cat([ref.rms_norm(e, W[p + "enorm.m.weight"], eps),
                                  ref.rms_norm(hidden, W[p + "hnorm.m.weight"], eps)], -1),
                       W[p + "eh_proj.weight"])
        x = x + ref.mla(ref.rms_norm(x, W[p + "input_layernorm.weight"], eps), W,
                        p + "self_attn.", cfg, list(range(7)))
        want = ref.rms_norm(x, W["model.mtp.norm.weight"], eps)
        self.assertLess(rel_err(ref.mtp(tokens, hidden, W, cfg)[1], want), 1e-6)

    def test_cached_equals_full_recompute(self):
        # Rows fed in chunks (a prefill of 3, one row, then 5) through one
        # AttentionCache equal the full recompute over all 9.
        for name, (cfg, W) in self.models.items():
            tokens, hidden = self.rows(cfg, 9)
            full_l, full_h = ref.mtp(tokens, hidden, W, cfg)
            cache, got_l, got_h = ref.AttentionCache(), [], []
            for a, b in ((0, 3), (3, 4), (4, 9)):
                l, h = ref.mtp(tokens[a:b], hidden[a:b], W, cfg, start=a, cache=cache)
                got_l.append(l)
                got_h.append(h)
            self.assertEqual(len(cache), 9, name)
            self.assertLess(rel_err(torch.cat(got_l), full_l), 1e-5, name)
            self.assertLess(rel_err(torch.cat(got_h), full_h), 1e-5, name)
            with self.assertRaises(ValueError):  # the cache holds 9, not 4, positions
                ref.mtp(tokens[4:5], hidden[4:5], W, cfg, start=4, cache=cache)

    def test_causal(self):
        # Changing row j's token or hidden state leaves rows < j unchanged and
        # changes rows >= j (row j through its input, later rows through attention).
        for name, (cfg, W) in self.models.items():
            tokens, hidden = self.rows(cfg, 8)
            base_l, base_h = ref.mtp(tokens, hidden, W, cfg)
            other = list(tokens)
            other[5] = (other[5] + 1) % cfg["vocab_size"]
            hidden2 = hidden.clone()
            hidden2[5] += 1.0
            for toks, hid in ((other, hidden), (tokens, hidden2)):
                l, h = ref.mtp(toks, hid, W, cfg)
                self.assertLess(rel_err(l[:5], base_l[:5]), 1e-6, name)
                self.assertLess(rel_err(h[:5], base_h[:5]), 1e-6, name)
                for t in range(5, 8):
                    self.assertGreater(rel_err(l[t], base_l[t]), 1e-4, f"{name} row {t}")

    def test_own_embedding(self):
        # model.mtp.embed_tokens.weight, when present, replaces model.embed_tokens.weight.
        cfg, W = self.models["tiny"]
        tokens, hidden = self.rows(cfg, 4)
        own = torch.randn(W["model.embed_tokens.weight"].shape, generator=torch.Generator().manual_seed(9))
        with_own = dict(W, **{"model.mtp.embed_tokens.weight": own})
        swapped = dict(W, **{"model.embed_tokens.weight": own})
        got = ref.mtp(tokens, hidden, with_own, cfg)[0]
        self.assertLess(rel_err(got, ref.mtp(tokens, hidden, swapped, cfg)[0]), 1e-7)
        self.assertGreater(rel_err(got, ref.mtp(tokens, hidden, W, cfg)[0]), 1e-3)

    def test_prompt_logits(self):
        # Row t of the prompt's MTP logits is the block on (x_{t+1}, h_t), h the
        # target's final hidden states; it depends on x_0..x_{t+1} only.
        cfg, W = self.models["tiny-n3k2"]
        prompt = [1, 5, 9, 2, 7, 300, 2, 4, 11]
        got = ref.mtp_prompt_logits(prompt, W, cfg)
        self.assertEqual(tuple(got.shape), (8, cfg["vocab_size"]))
        _, h = ref.forward(prompt, W, cfg, return_hidden=True)
        self.assertLess(rel_err(got[4], ref.mtp(prompt[1:6], h[:5], W, cfg)[0][4]), 1e-6)
        self.assertLess(rel_err(ref.mtp_prompt_logits(prompt[:4], W, cfg), got[:3]), 1e-6)
        with self.assertRaises(ValueError):
            ref.mtp_prompt_logits(prompt[:1], W, cfg)

class Greedy(unittest.TestCase):
    """greedy_generate's loop, with forward replaced by a scripted stub."""

    def run_script(self, script, max_new, eos=2):
        calls = []

        def fake_forward(seq, weights, cfg):
            calls.append(list(seq))
            return torch.tensor([script[len(calls) - 1]])
        orig = ref.forward
        ref.forward = fake_forward
        try:
            ids, rows = ref.greedy_generate({}, {"eos_token_id": eos, "vocab_size": 4}, [0, 1], max_new)
        finally:
            ref.forward = orig
        return ids, rows, calls

    def test_stops_after_eos_and_breaks_ties_low(self):
        script = [[0, 5, 5, 1], [1, 0, 0, 0], [0, 0, 3, 0], [9, 0, 0, 0]]
        ids, rows, calls = self.run_script(script, 10)
        self.assertEqual(ids, [1, 0, 2])  # tie 1/2 -> 1; EOS 2 included, then stop
        self.assertEqual(calls, [[0, 1], [0, 1, 1], [0, 1, 1, 0]])
        self.assertEqual(rows.tolist(), [[float(v) for v in r] for r in script[:3]])

    def test_max_new_tokens(self):
        ids, rows, _ = self.run_script([[1, 0, 0, 0]] * 5, 3)
        self.assertEqual(ids, [0, 0, 0])
        self.assertEqual(tuple(rows.shape), (3, 4))
        ids, rows, _ = self.run_script([], 0)
        self.assertEqual((ids, tuple(rows.shape)), ([], (0, 4)))


if __name__ == "__main__":
    unittest.main()
