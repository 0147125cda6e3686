//===- GpuStrategies.cpp - ember ops to cooperative GPU kernels ------------===//
//
// The op half of the GPU kernel configuration step (the loop half is
// ember-map-to-gpu's selectKernelConfig): for each ember op, (1) pick a
// cooperative strategy when one applies, (2) emit the op's gpu.launch with
// the decision attached, (3) erase the op. Ops without one are left to
// ember-lower-to-loops and the thread_per_element mapping.
//
//===----------------------------------------------------------------------===//
#include "lowering/KernelOrigin.h"
#include "lowering/LoopBuilders.h"
#include "lowering/nvptx/GemvOperands.h"
#include "lowering/nvptx/GpuKernelBuilders.h"
#include "lowering/nvptx/GpuStrategies.h"
#include "lowering/nvptx/Passes.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERGPUSTRATEGIES
#include "lowering/nvptx/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

using mlir::ember::kWarpSize; // not the NVGPU dialect's global one
constexpr int64_t kNone = -1;
/// Blocks a GEMV should launch for one group of tokens: two per SM of an
/// H100/H200 (132).
constexpr int64_t kGemvMinBlocks = 264;
/// Workgroup memory a block of ngram_embed may hold its tokens' rows in.
constexpr int64_t kNgramWorkgroupBytes = 32 * 1024;

struct OpStrategy {
  StringRef name;
  std::array<int64_t, 3> block, gridDims, threadDims;
  std::function<void(OpBuilder &, Attribute decision)> build;
};

/// warp_per_row: blocks of `warps` warps; grid x over groups of output rows
/// (dim 1), grid y over groups of tokens or tiles of rows (dim 0); thread x
/// along the reduction, thread y the rows (and, as block_split_k, the
/// slices of each row's reduction).
OpStrategy warpPerRow(int64_t warps, std::function<void(OpBuilder &, Attribute)> build,
                      StringRef name = "warp_per_row") {
  return OpStrategy{name, {kWarpSize, warps, 1}, {1, 0, kNone}, {kNone, 1, kNone}, std::move(build)};
}

/// block_per_row: a block of `threads` per token (grid x, dim 0), thread x
/// striding along the row (dim 1).
OpStrategy blockPerRow(int64_t threads, std::function<void(OpBuilder &, Attribute)> build) {
  return OpStrategy{"block_per_row", {threads, 1, 1}, {0, kNone, kNone}, {1, kNone, kNone}, std::move(build)};
}

/// Threads for a row of `width`: its power of two, from one warp up to
/// `threads`.
int64_t threadsForRow(int64_t width, int64_t threads) {
  return std::clamp<int64_t>(llvm::PowerOf2Ceil(width), kWarpSize, threads);
}

using KernelBuild = std::function<void(OpBuilder &, Attribute decision)>;

/// `small` alone, or, where `tensorCores`, `small` below `minTokens` tokens
/// and the mma_sync_tile kernel `tile` from there (T = dim 0 of op's
/// `tokenRows`): the launch is picked at run time, since T is a kernel
/// argument. The small kernel comes first, so decode keeps its kernel names.
KernelBuild withTensorCores(Operation *op, bool tensorCores, Value tokenRows, int64_t minTokens, KernelBuild small,
                            KernelBuild tile) {
  if (!tensorCores)
    return small;
  return [=, loc = op->getLoc()](OpBuilder &b, Attribute decision) {
    auto warpDecision = cast<GpuKernelAttr>(decision);
    auto tileDecision =
        GpuKernelAttr::get(b.getContext(), warpDecision.getOp(), warpDecision.getIndex(), "mma_sync_tile",
                           {kTensorCoreThreads, 1, 1}, {1, 0, kNone}, {kNone, kNone, kNone});
    Value tokens = dimOf(b, loc, tokenRows, 0);
    Value few = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tokens, indexConstant(b, loc, minTokens));
    scf::IfOp::create(
        b, loc, few,
        [&](OpBuilder &b, Location loc) {
          small(b, decision);
          scf::YieldOp::create(b, loc);
        },
        [&](OpBuilder &b, Location loc) {
          tile(b, tileDecision);
          scf::YieldOp::create(b, loc);
        });
  };
}

/// The kernel configuration step for ops: warp_per_row for the GEMV class
/// (mla_up_v included), the n-gram embedding and the routed experts (with
/// bf16 weights, mma_sync_tile at `minTokens` tokens or more for the GEMV
/// class but mla_up_v, and for the experts), block_split_k for
/// mla_absorb, block_per_row for rms_norm and router_topk, split_kv for
/// mla_attention. Blocks hold whole warps: at least 32
/// threads, at most `blockSize` when it is larger.
std::optional<OpStrategy> selectOpStrategy(Operation *op, int64_t blockSize, GatherBoundsCheck boundsCheck,
                                           int64_t minTokens) {
  int64_t threads = std::max(kWarpSize, blockSize), warps = threads / kWarpSize;
  if (std::optional<GemvShape> gemv = gemvShape(op)) {
    // Fewer rows per block where the rows would leave SMs idle at one token
    // group: at least kGemvMinBlocks blocks, down to one row per block. The
    // warps freed split each row's reduction instead (split-K), as long as
    // every slice gets a step of the row: more loads in flight per SM.
    int64_t rows = warps;
    while (rows > 1 && llvm::divideCeil(gemv->rows, rows) < kGemvMinBlocks)
      rows /= 2;
    int64_t slices = warps / rows;
    while (slices > 1 && slices > gemv->warpSteps)
      slices /= 2;
    GemvConfig config{rows, slices, std::max<int64_t>(1, 4 / gemv->weights)};
    bool tensorCores = minTokens > 0 && fitsTensorCoreKernel(op);
    return warpPerRow(rows * slices,
                      withTensorCores(
                          op, tensorCores, asGemv(op)->out, minTokens,
                          [op, config](OpBuilder &b, Attribute decision) { buildGemvKernel(b, op, config, decision); },
                          [op](OpBuilder &b, Attribute decision) { buildTensorCoreKernel(b, op, decision); }),
                      slices > 1 ? "block_split_k" : "warp_per_row");
  }
  if (auto expert = dyn_cast<ExpertGateUpOp>(op); expert && fitsExpertGateUpKernel(expert))
    return warpPerRow(warps,
                      withTensorCores(
                          op, minTokens > 0 && fitsExpertGateUpTensorCoreKernel(expert), expert.getExperts(), minTokens,
                          [expert, warps](OpBuilder &b, Attribute decision) mutable {
                            buildExpertGateUpKernel(b, expert, warps, decision);
                          },
                          [expert](OpBuilder &b, Attribute decision) mutable {
                            buildExpertGateUpTensorCoreKernel(b, expert, decision);
                          }));
  if (auto combine = dyn_cast<ExpertDownCombineOp>(op); combine && fitsExpertDownCombineKernel(combine))
    return warpPerRow(warps, withTensorCores(
                                 op, minTokens > 0 && fitsExpertDownCombineTensorCoreKernels(combine), combine.getOut(),
                                 minTokens,
                                 [combine, warps](OpBuilder &b, Attribute decision) mutable {
                                   buildExpertDownCombineKernel(b, combine, warps, decision);
                                 },
                                 [combine](OpBuilder &b, Attribute decision) mutable {
                                   buildExpertDownCombineTensorCoreKernels(b, combine, decision);
                                 }));
  if (auto ngram = dyn_cast<NgramEmbedOp>(op))
    if (std::optional<NgramKernelConfig> config = ngramKernelConfig(ngram, warps, kGemvMinBlocks, kNgramWorkgroupBytes))
      return warpPerRow(warps, [ngram, config = *config, boundsCheck](OpBuilder &b, Attribute decision) {
        buildNgramEmbedKernel(b, ngram, config, boundsCheck, decision);
      });
  if (auto absorb = dyn_cast<MlaAbsorbOp>(op); absorb && fitsAbsorbKernel(absorb))
    // Grid x: heads (x column tiles), grid y: token groups; thread x along
    // the latent, the warps split the reduction.
    return OpStrategy{"block_split_k",
                      {kWarpSize, warps, 1},
                      {1, 0, kNone},
                      {2, kNone, kNone},
                      [absorb, warps](OpBuilder &b, Attribute decision) {
                        buildAbsorbKernel(b, absorb, warps, kGemvMinBlocks, decision);
                      }};
  if (auto norm = dyn_cast<RmsNormOp>(op)) {
    int64_t width = cast<MemRefType>(norm.getX().getType()).getDimSize(1);
    int64_t size = ShapedType::isStatic(width) ? threadsForRow(width, threads) : threads;
    return blockPerRow(size,
                       [norm, size](OpBuilder &b, Attribute decision) { buildRmsNormKernel(b, norm, size, decision); });
  }
  if (auto router = dyn_cast<RouterTopkOp>(op)) {
    int64_t experts = cast<MemRefType>(router.getLogits().getType()).getDimSize(1);
    if (ShapedType::isDynamic(experts))
      return std::nullopt;
    int64_t size = threadsForRow(experts, threads);
    return blockPerRow(size, [router, size](OpBuilder &b, Attribute decision) {
      buildRouterTopkKernel(b, router, size, decision);
    });
  }
  if (auto attention = dyn_cast<MlaAttentionOp>(op)) {
    SplitKvConfig config;
    config.threads = threads;
    std::optional<int64_t> group = splitKvHeadsPerBlock(attention, config);
    if (!group)
      return std::nullopt;
    // Grid x: tokens (x head groups; x heads in the combine), grid y: the
    // chunks; thread x along the cache row.
    return OpStrategy{"split_kv",
                      {threads, 1, 1},
                      {0, kNone, kNone},
                      {2, kNone, kNone},
                      [attention, config, group](OpBuilder &b, Attribute decision) {
                        buildSplitKvAttention(b, attention, config, *group, decision);
                      }};
  }
  return std::nullopt;
}

struct EmberGpuStrategiesPass : mlir::ember::impl::EmberGpuStrategiesBase<EmberGpuStrategiesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockSize < 1 || blockSize > 1024 || !llvm::isPowerOf2_64(blockSize)) {
      module.emitError() << "ember-gpu-strategies: block-size must be a power of two in [1, 1024], got "
                         << blockSize.getValue();
      return signalPassFailure();
    }
    if (tensorCoreMinTokens < 0) {
      module.emitError() << "ember-gpu-strategies: tensor-core-min-tokens must be >= 0, got "
                         << tensorCoreMinTokens.getValue();
      return signalPassFailure();
    }
    nameKernelOrigins(module);
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<EmberDialect>(op->getDialect()))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      std::optional<OpStrategy> strategy = selectOpStrategy(op, blockSize, boundsCheck, tensorCoreMinTokens);
      std::optional<KernelOrigin> origin = findKernelOrigin(op->getLoc());
      if (!strategy || !origin)
        continue;
      auto decision = GpuKernelAttr::get(&getContext(), origin->op, origin->index, strategy->name,
                                         strategy->block, strategy->gridDims, strategy->threadDims);
      OpBuilder builder(op);
      strategy->build(builder, decision);
      op->erase();
    }
  }
};

} // namespace
