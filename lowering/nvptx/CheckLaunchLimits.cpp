//===- CheckLaunchLimits.cpp - launches a GPU accepts ----------------------===//
#include "lowering/KernelOrigin.h"
#include "lowering/nvptx/CudaToolkit.h"
#include "lowering/nvptx/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERCHECKLAUNCHLIMITS
#include "lowering/nvptx/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

// CUDA's limits for every chip ember targets (compute capability 8.0+).
constexpr int64_t kMaxBlock[3] = {1024, 1024, 64}, kMaxThreadsPerBlock = 1024;
constexpr int64_t kMaxGrid[3] = {2147483647, 65535, 65535};
constexpr const char *kAxes[3] = {"x", "y", "z"};

struct EmberCheckLaunchLimitsPass
    : mlir::ember::impl::EmberCheckLaunchLimitsBase<EmberCheckLaunchLimitsPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<ChipInfo> target = lookupChip(chip);
    if (!target) {
      getOperation().emitError() << "ember-check-launch-limits: unknown chip '" << chip
                                 << "' (known: " << supportedChips() << ")";
      return signalPassFailure();
    }
    getOperation().walk([&](gpu::LaunchFuncOp launch) {
      if (failed(check(launch, *target)))
        signalPassFailure();
    });
  }

  LogicalResult check(gpu::LaunchFuncOp launch, const ChipInfo &target) {
    std::optional<KernelOrigin> origin = findKernelOrigin(launch.getLoc());
    auto fail = [&]() {
      InFlightDiagnostic diagnostic = launch.emitError();
      if (origin)
        diagnostic << "ember." << origin->op << " #" << origin->index << ": ";
      diagnostic << "kernel @" << launch.getKernelName().getValue() << " ";
      return diagnostic;
    };
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues(), grid = launch.getGridSizeOperandValues();
    Value blockSizes[3] = {block.x, block.y, block.z}, gridSizes[3] = {grid.x, grid.y, grid.z};
    int64_t threads = 1;
    for (int axis = 0; axis < 3; ++axis) {
      std::optional<int64_t> size = getConstantIntValue(blockSizes[axis]);
      if (!size) {
        threads = -1; // checked at run time
      } else {
        if (*size > kMaxBlock[axis])
          return fail() << "launches " << *size << " threads along " << kAxes[axis]
                        << ", over CUDA's limit of " << kMaxBlock[axis];
        if (threads > 0)
          threads *= *size;
      }
      std::optional<int64_t> blocks = getConstantIntValue(gridSizes[axis]);
      if (blocks && *blocks > kMaxGrid[axis])
        return fail() << "launches " << *blocks << " blocks along grid " << kAxes[axis]
                      << ", over CUDA's limit of " << kMaxGrid[axis];
    }
    if (threads > kMaxThreadsPerBlock)
      return fail() << "launches blocks of " << threads << " threads, over CUDA's limit of "
                    << kMaxThreadsPerBlock;
    if (Value shared = launch.getDynamicSharedMemorySize())
      if (std::optional<int64_t> bytes = getConstantIntValue(shared); bytes && *bytes > target.maxSharedBytesOptIn)
        return fail() << "uses " << *bytes << " bytes of dynamic shared memory, over " << target.name
                      << "'s limit of " << target.maxSharedBytesOptIn;
    return success();
  }
};

} // namespace
