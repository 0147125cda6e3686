//===- MapToGpu.cpp - the GPU mapping stage --------------------------------===//
//
// Per ember op: (1) a kernel configuration step picks a strategy and the
// block and grid of the op's loop nest (selectKernelConfig), (2) the nest is
// tiled into blocks of threads and its dimensions mapped to processors,
// (3) upstream's parallel-loops-to-gpu patterns turn it into a gpu.launch,
// (4) which is named after the op and given a gpu.module that records the
// decision, for gpu-kernel-outlining to fill.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/KernelOrigin.h"
#include "lowering/nvptx/Passes.h"

#include "mlir/Conversion/SCFToGPU/SCFToGPU.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERMAPTOGPU
#include "lowering/nvptx/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

constexpr int64_t kNone = -1;

/// How one loop nest becomes a kernel: the strategy, the tile (threads per
/// block) of each loop dimension and the loop dimension of each grid and
/// thread axis (x, y, z; kNone when unused). Dimensions on no grid axis run
/// sequentially in every thread.
struct KernelConfig {
  StringRef strategy;
  SmallVector<int64_t> tileSizes;
  std::array<int64_t, 3> gridDims{kNone, kNone, kNone};
  std::array<int64_t, 3> threadDims{kNone, kNone, kNone};

  std::array<int64_t, 3> block() const {
    std::array<int64_t, 3> sizes{1, 1, 1};
    for (int axis = 0; axis < 3; ++axis)
      if (threadDims[axis] != kNone)
        sizes[axis] = tileSizes[threadDims[axis]];
    return sizes;
  }
};

/// The trip count of each loop dimension when it is a constant.
SmallVector<std::optional<int64_t>> staticTripCounts(scf::ParallelOp loop) {
  SmallVector<std::optional<int64_t>> counts;
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> lb = getConstantIntValue(lower), ub = getConstantIntValue(upper),
                           st = getConstantIntValue(step);
    if (lb && ub && st && *st > 0)
      counts.push_back(std::max<int64_t>(0, llvm::divideCeil(*ub - *lb, *st)));
    else
      counts.push_back(std::nullopt);
  }
  return counts;
}

/// The kernel configuration step for loop nests. thread_per_element, the
/// one strategy for them (cooperative ones are ember-gpu-strategies'): one
/// thread per iteration, the innermost (contiguous) dimension on
/// thread x so that adjacent threads touch adjacent addresses, the next on
/// thread y when the innermost is narrower than a block (and the next is
/// static). Block z stays 1,
/// so blocks are within CUDA's limits (x, y <= 1024, z <= 64) by
/// construction. The first dynamic dimension (the tokens) goes on grid x,
/// which takes 2^31 - 1 blocks, the others on y and z (65535), inner first.
KernelConfig selectKernelConfig(scf::ParallelOp loop, int64_t blockSize) {
  SmallVector<std::optional<int64_t>> counts = staticTripCounts(loop);
  int64_t rank = counts.size();
  KernelConfig config;
  config.strategy = "thread_per_element";
  config.tileSizes.assign(rank, 1);
  auto fitting = [](std::optional<int64_t> count, int64_t limit) {
    return count ? std::min<int64_t>(limit, llvm::PowerOf2Ceil(std::max<int64_t>(*count, 1))) : limit;
  };
  int64_t inner = rank - 1;
  config.tileSizes[inner] = fitting(counts[inner], blockSize);
  config.threadDims[0] = inner;
  // Only a static dimension fills thread y: a dynamic one is the tokens,
  // one in a decode step, which would leave all but one row of threads idle.
  if (rank >= 2 && config.tileSizes[inner] < blockSize && counts[inner - 1]) {
    config.tileSizes[inner - 1] = fitting(counts[inner - 1], blockSize / config.tileSizes[inner]);
    if (config.tileSizes[inner - 1] > 1)
      config.threadDims[1] = inner - 1;
  }
  const auto *dynamic = llvm::find_if(counts, [](std::optional<int64_t> count) { return !count; });
  int64_t first = dynamic == counts.end() ? inner : dynamic - counts.begin();
  config.gridDims[0] = first;
  int axis = 1;
  for (int64_t dim = inner; dim >= 0 && axis < 3; --dim)
    if (dim != first)
      config.gridDims[axis++] = dim;
  return config;
}

gpu::ParallelLoopDimMappingAttr dimMapping(MLIRContext *context, gpu::Processor processor) {
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  return gpu::ParallelLoopDimMappingAttr::get(context, processor, identity, identity);
}

/// Tiles `loop` by the config and maps the tile loop to blocks and the
/// intra-tile loop to threads; nested parallel loops run sequentially.
LogicalResult tileAndMap(scf::ParallelOp loop, const KernelConfig &config) {
  MLIRContext *context = loop.getContext();
  SmallVector<scf::ParallelOp> nested;
  loop.getBody()->walk([&](scf::ParallelOp inner) { nested.push_back(inner); });
  // Without min/max bounds the intra-tile loop has a constant trip count
  // (guarded by an scf.if), which parallel-loops-to-gpu needs.
  auto [blocks, threads] = scf::tileParallelLoop(loop, config.tileSizes, /*noMinMaxBounds=*/true);
  int64_t rank = config.tileSizes.size();
  SmallVector<gpu::ParallelLoopDimMappingAttr> blockMapping(rank, dimMapping(context, gpu::Processor::Sequential));
  SmallVector<gpu::ParallelLoopDimMappingAttr> threadMapping = blockMapping;
  const gpu::Processor blockAxes[] = {gpu::Processor::BlockX, gpu::Processor::BlockY, gpu::Processor::BlockZ};
  const gpu::Processor threadAxes[] = {gpu::Processor::ThreadX, gpu::Processor::ThreadY, gpu::Processor::ThreadZ};
  for (int axis = 0; axis < 3; ++axis) {
    if (config.gridDims[axis] != kNone)
      blockMapping[config.gridDims[axis]] = dimMapping(context, blockAxes[axis]);
    if (config.threadDims[axis] != kNone)
      threadMapping[config.threadDims[axis]] = dimMapping(context, threadAxes[axis]);
  }
  if (failed(gpu::setMappingAttr(blocks, blockMapping)) || failed(gpu::setMappingAttr(threads, threadMapping)))
    return failure();
  for (scf::ParallelOp inner : nested) {
    SmallVector<gpu::ParallelLoopDimMappingAttr> sequential(inner.getNumLoops(),
                                                             dimMapping(context, gpu::Processor::Sequential));
    if (failed(gpu::setMappingAttr(inner, sequential)))
      return failure();
  }
  return success();
}

/// A kernel's name: the host function and the op it came from.
std::string kernelName(func::FuncOp func, const std::optional<KernelOrigin> &origin,
                       llvm::StringMap<int> &seen) {
  std::string base = func.getName().str() + "__" +
                     (origin ? origin->op + "_" + std::to_string(origin->index) : std::string("loop"));
  int repeat = seen[base]++;
  return repeat == 0 && origin ? base : base + "_" + std::to_string(repeat);
}

struct EmberMapToGpuPass : mlir::ember::impl::EmberMapToGpuBase<EmberMapToGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockSize < 1 || blockSize > 1024 || !llvm::isPowerOf2_64(blockSize)) {
      module.emitError() << "ember-map-to-gpu: block-size must be a power of two in [1, 1024], got "
                         << blockSize.getValue();
      return signalPassFailure();
    }
    SymbolTable symbols(module);
    for (func::FuncOp func : llvm::to_vector(module.getOps<func::FuncOp>()))
      if (!func.isExternal() && failed(mapFunction(func, symbols)))
        return signalPassFailure();
  }

  LogicalResult mapFunction(func::FuncOp func, SymbolTable &symbols) {
    struct Kernel {
      std::optional<KernelOrigin> origin;
      KernelConfig config;
    };
    SmallVector<Kernel> kernels;
    SmallVector<scf::ParallelOp> outermost;
    func.walk<WalkOrder::PreOrder>([&](scf::ParallelOp loop) {
      outermost.push_back(loop);
      return WalkResult::skip();
    });
    for (scf::ParallelOp loop : outermost) {
      Kernel kernel{findKernelOrigin(loop.getLoc()), selectKernelConfig(loop, blockSize)};
      if (failed(tileAndMap(loop, kernel.config)))
        return loop.emitError("ember-map-to-gpu: cannot map this loop nest to the GPU");
      kernels.push_back(std::move(kernel));
    }

    ConversionTarget target(getContext());
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    configureParallelLoopToGPULegality(target);
    RewritePatternSet patterns(&getContext());
    populateParallelLoopToGPUPatterns(patterns);
    if (failed(applyPartialConversion(func, target, std::move(patterns))))
      return failure();
    finalizeParallelLoopToGPUConversion(func);

    // Launches that ember-gpu-strategies built carry their decision; the
    // others are the nests above, in the same order.
    SmallVector<gpu::LaunchOp> launches;
    func.walk([&](gpu::LaunchOp launch) { launches.push_back(launch); });
    size_t mapped = llvm::count_if(launches, [](gpu::LaunchOp launch) { return !launch->hasAttr(GpuKernelAttr::kAttrName); });
    if (mapped != kernels.size())
      return func.emitError() << "ember-map-to-gpu: " << kernels.size() << " loop nests became " << mapped
                              << " launches";
    llvm::StringMap<int> seen;
    OpBuilder builder = OpBuilder::atBlockEnd(getOperation().getBody());
    const Kernel *next = kernels.begin();
    for (gpu::LaunchOp launch : launches) {
      auto decision = launch->getAttrOfType<GpuKernelAttr>(GpuKernelAttr::kAttrName);
      std::optional<KernelOrigin> origin = findKernelOrigin(launch.getLoc());
      if (decision) {
        launch->removeAttr(GpuKernelAttr::kAttrName);
      } else {
        const KernelConfig &config = next->config;
        origin = next->origin;
        decision = GpuKernelAttr::get(&getContext(), origin ? origin->op : "loop", origin ? origin->index : 0,
                                      config.strategy, config.block(), config.gridDims, config.threadDims);
        ++next;
      }
      std::string name = kernelName(func, origin, seen);
      if (symbols.lookup(name))
        return launch.emitError() << "ember-map-to-gpu: kernel name @" << name << " is taken";
      auto container = gpu::GPUModuleOp::create(builder, launch.getLoc(), name);
      container->setAttr(GpuKernelAttr::kAttrName, decision);
      symbols.insert(container);
      launch.setModule(name);
      launch.setFunction(name);
    }
    return success();
  }
};

} // namespace
