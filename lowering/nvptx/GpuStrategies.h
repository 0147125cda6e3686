//===- GpuStrategies.h - the cooperative kernel strategies -------*- C++ -*-===//
//
// Kernels of ember ops that need threads to work together (warp shuffles,
// barriers, workgroup memory), which the loop IR cannot express. The
// kernel configuration step of ember-gpu-strategies picks them; each
// builder emits the op's gpu.launch before it.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_NVPTX_GPUSTRATEGIES_H
#define EMBER_LOWERING_NVPTX_GPUSTRATEGIES_H

#include "dialects/Ember/EmberDialect.h"
#include "lowering/Passes.h"

#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::ember {

/// warp_per_row (GemvKernels.cpp), and its split-K form block_split_k
/// (slicesPerRow > 1): blocks of rowsPerBlock x slicesPerRow warps.
struct GemvConfig {
  int64_t rowsPerBlock = 4;
  /// Warps that split each row's reduction; their partial sums meet in
  /// workgroup memory across one barrier.
  int64_t slicesPerRow = 1;
  /// Tokens whose dot products a warp computes from one read of its row.
  int64_t tokensPerWarp = 4;
};
/// A GEMV-class op that warp_per_row can take (static input width, a
/// multiple of one 16-byte load of each weight, identity layouts): its
/// weight matrices (linear, norm_linear: 1; swiglu, norm_swiglu: 2), output
/// rows, and the steps of 32 16-byte loads a warp takes along one row.
struct GemvShape {
  int64_t weights, rows, warpSteps;
};
std::optional<GemvShape> gemvShape(Operation *op);
void buildGemvKernel(OpBuilder &b, Operation *op, const GemvConfig &config, Attribute decision);

/// mma_sync_tile for prefill (TensorCoreKernels.cpp): tensor-core tiles of
/// 64 tokens x 64 output rows. Takes the GEMV-class ops warp_per_row takes,
/// except mla_up_v, with bf16 weights, f32 activations and K a multiple of
/// 16.
constexpr int64_t kTensorCoreThreads = 128;
bool fitsTensorCoreKernel(Operation *op);
void buildTensorCoreKernel(OpBuilder &b, Operation *op, Attribute decision);

/// warp_per_row for expert_gate_up (ExpertKernels.cpp): a warp per (tile,
/// hidden unit); needs a static input width that is a multiple of one
/// 16-byte load of the weights, a static hidden width and identity layouts.
bool fitsExpertGateUpKernel(ExpertGateUpOp op);
void buildExpertGateUpKernel(OpBuilder &b, ExpertGateUpOp op, int64_t warps, Attribute decision);
/// mma_sync_tile for expert_gate_up at prefill (ExpertTensorCoreKernels.cpp):
/// a block per (window of 64 sorted rows, 32 hidden units), one pass of the
/// tile per expert in the window. Needs what warp_per_row needs, bf16
/// weights and D a multiple of 32.
bool fitsExpertGateUpTensorCoreKernel(ExpertGateUpOp op);
void buildExpertGateUpTensorCoreKernel(OpBuilder &b, ExpertGateUpOp op, Attribute decision);
/// warp_per_row for expert_down_combine: a warp per (token, output); needs
/// static widths, F a multiple of one 16-byte load of down, and identity
/// layouts for h and down.
bool fitsExpertDownCombineKernel(ExpertDownCombineOp op);
void buildExpertDownCombineKernel(OpBuilder &b, ExpertDownCombineOp op, int64_t warps, Attribute decision);
/// mma_sync_tile for expert_down_combine at prefill (ExpertTensorCoreKernels.cpp):
/// the experts' outputs by sorted row on tensor cores (the grouped GEMM of
/// expert_gate_up's, one weight) into a [rows, D] buffer, then the
/// combine. Needs what warp_per_row needs, bf16 down and F a multiple of 16.
bool fitsExpertDownCombineTensorCoreKernels(ExpertDownCombineOp op);
void buildExpertDownCombineTensorCoreKernels(OpBuilder &b, ExpertDownCombineOp op, Attribute decision);

/// block_per_row for rms_norm (RowReductionKernels.cpp): `threads` a
/// multiple of 32.
void buildRmsNormKernel(OpBuilder &b, RmsNormOp op, int64_t threads, Attribute decision);
/// block_per_row for router_topk: the number of experts must be static.
void buildRouterTopkKernel(OpBuilder &b, RouterTopkOp op, int64_t threads, Attribute decision);

/// split_kv for mla_attention (AttentionKernels.cpp): a partial kernel per
/// (token, group of heads, chunk of cache rows) and a combine per (token,
/// head), both blocks of `threads`.
struct SplitKvConfig {
  int64_t threads = 128;
  // Rows per chunk: at T = 1 and 4 groups of heads, 33 chunks (1 K rows)
  // already give one block per SM of an H200.
  int64_t chunk = 32;
  /// Workgroup memory a partial block may use (queries, weights, maxima).
  int64_t workgroupBytes = 24 * 1024;
};
/// The heads a partial block takes (the largest divisor of H, at most 16,
/// whose queries and weights fit), or none: H, C or R dynamic.
std::optional<int64_t> splitKvHeadsPerBlock(MlaAttentionOp op, const SplitKvConfig &config);
/// Both kernels carry `decision`.
void buildSplitKvAttention(OpBuilder &b, MlaAttentionOp op, const SplitKvConfig &config, int64_t group,
                           Attribute decision);

/// warp_per_row for ngram_embed (NgramKernels.cpp): blocks of `warps`
/// warps per (tile of warps x rowsPerWarp output rows, group of
/// tokensPerBlock tokens), the group's gathered rows in workgroup memory.
struct NgramKernelConfig {
  int64_t warps, rowsPerWarp, tokensPerBlock;
};
/// Needs static projections whose width is a multiple of one 16-byte load,
/// with the identity layout, and one token's rows within `workgroupBytes`;
/// takes the most tokens (up to 4) that fit and the most rows per warp
/// that still give `minBlocks` blocks.
std::optional<NgramKernelConfig> ngramKernelConfig(NgramEmbedOp op, int64_t warps, int64_t minBlocks,
                                                   int64_t workgroupBytes);
void buildNgramEmbedKernel(OpBuilder &b, NgramEmbedOp op, const NgramKernelConfig &config,
                           GatherBoundsCheck boundsCheck, Attribute decision);

/// block_split_k for mla_absorb (AttentionKernels.cpp): a block of `warps`
/// warps per (head, tile of latent columns, group of kAbsorbTokensPerBlock
/// tokens), the warps split into slices of lanes, each slice on its own key
/// row; tiles narrow (down to 8 lanes) until there are `minBlocks` blocks.
/// Needs static H, Dn and C, C a multiple of one 16-byte load of kv_b, and
/// kv_b's identity layout.
constexpr int64_t kAbsorbTokensPerBlock = 4;
bool fitsAbsorbKernel(MlaAbsorbOp op);
void buildAbsorbKernel(OpBuilder &b, MlaAbsorbOp op, int64_t warps, int64_t minBlocks, Attribute decision);

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_GPUSTRATEGIES_H
