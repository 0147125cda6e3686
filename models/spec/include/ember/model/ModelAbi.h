#pragma once

// The calling convention of a compiled LongCat-Flash-Lite artifact: the one
// place that says which tensors the compiled decoder takes, in which order,
// with which shapes. The graph builder (models/) emits its function
// signatures from this list and the runtime binds checkpoint tensors by it.

#include "ember/model/Config.h"
#include "ember/model/Shape.h"

#include <string>
#include <vector>

namespace ember {

// Entry points of the compiled decoder. Each also exists as
// `<name>_packed(void **args)`: args[i] points to argument i (a memref
// descriptor), in this order:
//   tokens      int32 [T]                new tokens, one per row
//   slots       int32 [T]                each row's sequence slot (row of the token table / KV cache)
//   positions   int32 [T]                each row's position in its sequence
//   token_table int32 [slots, context]   the N-gram cache (docs/design.md §2)
//   kv_cache    f32   [2L, slots, context, kv_lora + rope]  latent KV cache
//   logits      f32   [T, V]             out
//   hidden      f32   [T, D]             out: final (post model.norm) hidden state
//   then every weight of modelWeights(config), in order.
// The rows of one call may belong to different sequences (a batched decode
// step, prefill chunks next to decode rows): row t sees its own sequence's
// cached positions up to positions[t]. ember_step writes the tokens into the
// token table and the rows' latents into the KV cache before attending, so
// rows of one sequence in the same call see each other causally. The caller
// keeps the coordinates in range and distinct.
// The version of this calling convention: bump it whenever an entry
// point's arguments change. Artifacts carry it in their model stamp
// (ModelStamp.h), so an artifact of another version is refused.
inline constexpr int kAbiVersion = 2;
inline constexpr char kStepFunction[] = "ember_step";
inline constexpr char kPackedSuffix[] = "_packed";

// ember_step split in two, for speculative decoding: the drafter embeds each
// draft token as it is proposed and verification reuses those embeddings
// (paper 4.2). ember_step == ember_embed then ember_forward.
//   ember_embed(tokens int32 [T], slots, positions, token_table,
//               embeddings f32 [T, D] out,
//               the first kEmbeddingWeights weights of modelWeights)
//     writes tokens into the token table at [slots[t], positions[t]] and
//     computes their n-gram embeddings (docs/design.md §2).
//   ember_forward(embeddings f32 [T, D], slots, positions, kv_cache, logits, hidden,
//                 the remaining weights of modelWeights, from the first layer's on)
inline constexpr char kEmbedFunction[] = "ember_embed";
inline constexpr char kForwardFunction[] = "ember_forward";
inline constexpr int kEmbeddingWeights = 3;

// The MTP drafter (docs/design.md §3): row t at positions[t] combines the
// ordinary embedding of tokens[t] with hidden_in[t] (the hidden state of the
// position before: the target's final hidden state, or the drafter's own
// hidden_out when drafting further ahead), writes its latent row into
// mtp_kv_cache and attends over [0, positions[t]] of its slot.
//   ember_mtp(tokens int32 [T], slots, positions, hidden_in f32 [T, D],
//             mtp_kv_cache f32 [1, slots, context, kv_lora + rope],
//             logits f32 [T, V] out, hidden_out f32 [T, D] out (post model.mtp.norm),
//             mtpWeights(config))
inline constexpr char kMtpFunction[] = "ember_mtp";

// One argument of the decoder: the concatenation, in order, of checkpoint
// tensors `pieces` (most have one piece; the n-gram tables are concatenated
// along rows, post-projections and expert weights are stacked).
struct AbiPiece {
  std::string name;
  Shape shape;
};
struct AbiWeight {
  std::string name;  // for messages, e.g. "model.layers.0.mlp.experts.*.gate_proj.weight"
  Shape shape;       // shape of the whole argument
  bool alwaysF32;    // stored as f32 whatever the compiled weight dtype
  std::vector<AbiPiece> pieces;
  // Read only by row gathers, a few rows per token (the word embeddings and
  // the n-gram tables): the runtime may keep it in host memory that kernels
  // read over the bus.
  bool gathered = false;
  // An FP8 release quantizes it (F8_E4M3 with `<name>_scale_inv` blocks):
  // the attention projections and the dense and expert MLPs.
  bool fp8Quantized = false;
  // Passed as F8E4M3 bytes, its block scales among the trailing arguments
  // (the FP8 weight format, below).
  bool fp8 = false;
};

// Weight arguments in call order:
//   model.embed_tokens.weight                       [V, D]
//   n-gram tables (embedders.0..E-1, concatenated)  [sum M_i, D/E]
//   post_projs.0..E-1 (stacked)                     [E, D, D/E]
//   per layer l, per sublayer s in {0, 1}:
//     input_layernorm.s [D], post_attention_layernorm.s [D],
//     self_attn.s.{q_a_proj [q_lora, D], q_a_layernorm [q_lora],
//                  q_b_proj [H (nope+rope), q_lora],
//                  kv_a_proj_with_mqa [kv_lora + rope, D], kv_a_layernorm [kv_lora],
//                  kv_b_proj [H (nope+v), kv_lora], o_proj [D, H v]},
//     mlps.s.{gate_proj [F, D], up_proj [F, D], down_proj [D, F]}
//   per layer l, after both sublayers:
//     mlp.router.classifier [R+Z, D], mlp.router.e_score_correction_bias [R+Z] (f32),
//     mlp.experts.*.gate_proj [R, Fe, D], .up_proj [R, Fe, D], .down_proj [R, D, Fe] (stacked)
//   model.norm.weight [D], lm_head.weight [V, D]
//
// The FP8 weight format (`fp8`, an artifact compiled with --weight-dtype
// f8e4m3 for a config with quantization_config): every fp8Quantized weight
// is passed as its F8E4M3 bytes, the others as bf16, and after the last
// weight come the block scales of the F8E4M3 ones, in their order, f32
// [ceil(rows / R), ceil(cols / C)] (stacked [E, ...] for the experts) for
// weight_block_size [R, C]. The scales of layer l are then the
// fp8ScalesPerLayer() arguments from that layer's first. Throws for fp8
// without quantization_config.
std::vector<AbiWeight> modelWeights(const ModelConfig &config, bool fp8 = false);

// Weight arguments of ember_mtp, in call order (model.mtp.layers.0. = P):
//   word embedding [V, D]: model.mtp.embed_tokens.weight when the checkpoint
//     has it (ownEmbedding), else model.embed_tokens.weight
//   P enorm.m [D], P hnorm.m [D], P eh_proj [D, 2D] (input [enorm(emb); hnorm(h)])
//   P input_layernorm [D], P self_attn.{q_a_proj, q_a_layernorm, q_b_proj,
//     kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj} (shapes as above),
//   P post_attention_layernorm [D],
//   P transformer_layer.mlp.{gate_proj [F, D], up_proj [F, D], down_proj [D, F]}
//   model.mtp.norm.weight [D], lm_head.weight [V, D] (shared with the target)
std::vector<AbiWeight> mtpWeights(const ModelConfig &config, bool ownEmbedding, bool fp8 = false);
inline constexpr char kMtpWordEmbeddingName[] = "model.mtp.embed_tokens.weight";
inline constexpr int kMtpWeightCount = 18;

// Number of weight arguments per layer in modelWeights (2 x 12 + 5).
inline constexpr int kWeightsPerLayer = 29;
// Block-scale arguments per layer in the FP8 weight format: per sublayer
// q_a, q_b, kv_a, kv_b, o_proj and the MLP's three, then the experts' three.
// (mtpWeights has 8: its attention projections and MLP.)
inline constexpr int kFp8ScalesPerLayer = 2 * 8 + 3;

// Latent KV cache geometry: one row of kv_lora + rope floats per token per
// attention sublayer.
inline int64_t kvCacheSublayers(const ModelConfig &config) { return 2 * config.numLayers; }
inline int64_t kvCacheRowWidth(const ModelConfig &config) {
  return config.kvLoraRank + config.qkRopeHeadDim;
}

// RoPE (interleaved pairs) of docs/design.md §3: inverse frequencies of the
// rope/2 pairs, YaRN-ramped when rope_scaling is set; the factor applied to
// cos and sin (YaRN mscale / mscale_all_dim ratio, else 1); and the softmax
// scale (nope+rope)^-0.5, times mscale^2 under YaRN with mscale_all_dim.
std::vector<float> ropeInverseFrequencies(const ModelConfig &config);
double ropeCosSinScale(const ModelConfig &config);
double attentionSoftmaxScale(const ModelConfig &config);

} // namespace ember
