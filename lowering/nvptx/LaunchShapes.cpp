//===- LaunchShapes.cpp - what each kernel of a step launches -------------===//
//
// Walks the host side of the entry function (following func.call, and of an
// scf.if whose condition the sizes decide, such as mma_sync_tile's T >= 64,
// the branch taken) after the GPU mapping stage. At each gpu.launch_func it
// (1) resolves the grid and
// block sizes in the caller, (2) enters the kernel with its arguments bound
// to the launch's operands and the ids of thread 0 of block 0, (3) counts
// the iterations of the kernel's loops.
//
//===----------------------------------------------------------------------===//
#include "lowering/nvptx/LaunchShapes.h"
#include "dialects/Ember/EmberDialect.h"
#include "passes/SizeEvaluator.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::ember;

std::optional<int64_t> KernelLaunchShape::blocks() const {
  if (!grid)
    return std::nullopt;
  return (*grid)[0] * (*grid)[1] * (*grid)[2];
}

namespace {

int64_t axisOf(gpu::Dimension dimension) { return int64_t(dimension); }

class LaunchWalk final : public SizeEvaluator {
public:
  LaunchWalk(ModuleOp module, const TrafficOptions &options)
      : SizeEvaluator(options.tokens, options.position, nullptr), module(module) {}

  LogicalResult walk(Region &body);
  std::vector<KernelLaunchShape> shapes;

private:
  std::optional<int64_t> evaluateOther(Value value, unsigned frame) override;
  std::optional<SmallVector<int64_t>> shapeOther(Value memref, unsigned frame) override;
  std::optional<std::array<int64_t, 3>> evaluate3(gpu::KernelDim3 sizes, unsigned frame);
  void addLaunch(gpu::LaunchFuncOp launch);
  std::optional<int64_t> iterations(Region &region);

  ModuleOp module;
};

} // namespace

std::optional<int64_t> LaunchWalk::evaluateOther(Value value, unsigned frame) {
  // The entry's index arguments, in ModelAbi's order: slot, then start.
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    Block *entry = arg.getOwner();
    if (frame != 0 || !arg.getType().isIndex() || entry->getParentOp()->getParentOp() != module)
      return std::nullopt;
    int64_t before = llvm::count_if(entry->getArguments().take_front(arg.getArgNumber()),
                                    [](BlockArgument other) { return other.getType().isIndex(); });
    return before == 0 ? std::optional<int64_t>(0) : before == 1 ? std::optional<int64_t>(position) : std::nullopt;
  }
  // Inside a kernel: thread 0 of block 0 of the launch that entered it.
  auto launch = dyn_cast_or_null<gpu::LaunchFuncOp>(callOf(frame));
  Operation *def = value.getDefiningOp();
  if (!launch || !def)
    return std::nullopt;
  if (isa<gpu::ThreadIdOp, gpu::BlockIdOp, gpu::LaneIdOp>(def))
    return 0;
  auto size = [&](gpu::KernelDim3 sizes, gpu::Dimension dimension) {
    Value axis[] = {sizes.x, sizes.y, sizes.z};
    return SizeEvaluator::evaluate(axis[axisOf(dimension)], frame - 1);
  };
  if (auto blockDim = dyn_cast<gpu::BlockDimOp>(def))
    return size(launch.getBlockSizeOperandValues(), blockDim.getDimension());
  if (auto gridDim = dyn_cast<gpu::GridDimOp>(def))
    return size(launch.getGridSizeOperandValues(), gridDim.getDimension());
  return std::nullopt;
}

std::optional<SmallVector<int64_t>> LaunchWalk::shapeOther(Value memref, unsigned frame) {
  auto alloc = memref.getDefiningOp<gpu::AllocOp>();
  if (!alloc)
    return std::nullopt;
  return resolve(memref, getMixedValues(alloc.getType().getShape(), alloc.getDynamicSizes(), memref.getContext()),
                 frame);
}

std::optional<std::array<int64_t, 3>> LaunchWalk::evaluate3(gpu::KernelDim3 sizes, unsigned frame) {
  std::array<int64_t, 3> numbers;
  for (auto [number, size] : llvm::zip(numbers, std::array<Value, 3>{sizes.x, sizes.y, sizes.z})) {
    std::optional<int64_t> value = evaluate(size, frame);
    if (!value)
      return std::nullopt;
    number = *value;
  }
  return numbers;
}

/// Loops a thread runs one after another add up, nested loops multiply; of
/// the branches of an scf.if, the longer counts.
std::optional<int64_t> LaunchWalk::iterations(Region &region) {
  int64_t total = 0;
  for (Operation &op : region.getOps()) {
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      std::optional<int64_t> lower = evaluate(loop.getLowerBound(), top()),
                             upper = evaluate(loop.getUpperBound(), top()), step = evaluate(loop.getStep(), top());
      if (!lower || !upper || !step || *step <= 0)
        return std::nullopt;
      bind(loop.getInductionVar(), *lower);
      std::optional<int64_t> body = iterations(loop.getRegion());
      unbind(loop.getInductionVar());
      if (!body)
        return std::nullopt;
      int64_t trips = *upper > *lower ? llvm::divideCeil(*upper - *lower, *step) : 0;
      total += trips * std::max<int64_t>(1, *body);
      continue;
    }
    if (isa<scf::WhileOp>(op))
      return std::nullopt;
    int64_t longest = 0;
    for (Region &nested : op.getRegions()) {
      std::optional<int64_t> count = iterations(nested);
      if (!count)
        return std::nullopt;
      longest = std::max(longest, *count);
    }
    total += longest;
  }
  return total;
}

void LaunchWalk::addLaunch(gpu::LaunchFuncOp launch) {
  StringRef name = launch.getKernelName().getValue();
  auto row = llvm::find_if(shapes, [&](const KernelLaunchShape &shape) { return shape.kernel == name; });
  if (row != shapes.end()) {
    ++row->launches;
    return;
  }
  KernelLaunchShape shape{name.str()};
  shape.launches = 1;
  if (auto container = module.lookupSymbol<gpu::GPUModuleOp>(launch.getKernelModuleName()))
    if (auto decision = container->getAttrOfType<GpuKernelAttr>(GpuKernelAttr::kAttrName)) {
      shape.op = decision.getOp().str();
      shape.strategy = decision.getStrategy().str();
    }
  shape.grid = evaluate3(launch.getGridSizeOperandValues(), top());
  shape.block = evaluate3(launch.getBlockSizeOperandValues(), top());
  auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(launch, launch.getKernel());
  if (kernel && !kernel.isExternal()) {
    enter(&kernel.getBody().front(), launch, launch.getKernelOperands());
    shape.iterations = iterations(kernel.getBody());
    leave();
  }
  shapes.push_back(std::move(shape));
}

LogicalResult LaunchWalk::walk(Region &body) {
  WalkResult result = body.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
      addLaunch(launch);
      return WalkResult::skip();
    }
    if (auto branch = dyn_cast<scf::IfOp>(op)) {
      std::optional<int64_t> taken = evaluate(branch.getCondition(), top());
      if (!taken)
        return WalkResult::advance(); // both branches
      return failed(walk(*taken ? branch.getThenRegion() : branch.getElseRegion())) ? WalkResult::interrupt()
                                                                                    : WalkResult::skip();
    }
    auto call = dyn_cast<func::CallOp>(op);
    if (!call)
      return WalkResult::advance();
    auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
    if (!callee || callee.isExternal() || isEntered(&callee.getBody().front())) {
      call.emitError("launch shapes: cannot follow the call to @") << call.getCallee();
      return WalkResult::interrupt();
    }
    enter(&callee.getBody().front(), call, call.getOperands());
    LogicalResult walked = walk(callee.getBody());
    leave();
    return failed(walked) ? WalkResult::interrupt() : WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

FailureOr<std::vector<KernelLaunchShape>> mlir::ember::modelLaunchShapes(ModuleOp module,
                                                                         const TrafficOptions &options) {
  auto entry = module.lookupSymbol<func::FuncOp>(options.function);
  if (!entry || entry.isExternal())
    return module.emitError("launch shapes: no function @") << options.function;
  LaunchWalk walk(module, options);
  walk.enter(&entry.getBody().front(), nullptr, {});
  if (failed(walk.walk(entry.getBody())))
    return failure();
  return std::move(walk.shapes);
}

void mlir::ember::printLaunchShapes(ArrayRef<KernelLaunchShape> shapes, const TrafficOptions &options,
                                    int64_t multiprocessors, StringRef part, llvm::raw_ostream &os) {
  os << llvm::formatv("launch shapes of @{0}: T = {1} after P = {2}; per kernel, the grid and block "
                      "launched, the SMs of {3} ({4}) its blocks can occupy, and the loop iterations "
                      "thread 0 runs ('?': set by data)\n",
                      options.function, options.tokens, options.position, part, multiprocessors);
  auto dims = [](const std::optional<std::array<int64_t, 3>> &sizes) {
    return sizes ? llvm::formatv("{0}x{1}x{2}", (*sizes)[0], (*sizes)[1], (*sizes)[2]).str() : std::string("?");
  };
  auto number = [](std::optional<int64_t> value) { return value ? std::to_string(*value) : std::string("?"); };
  auto row = [&](StringRef kernel, StringRef op, StringRef strategy, StringRef launches, StringRef grid,
                 StringRef block, StringRef blocks, StringRef occupied, StringRef iterations) {
    os << llvm::formatv("{0,-48} {1,-20} {2,-18} {3,8} {4,12} {5,10} {6,8} {7,6} {8,10}\n", kernel, op, strategy,
                        launches, grid, block, blocks, occupied, iterations);
  };
  row("kernel", "op", "strategy", "launches", "grid", "block", "blocks", "SMs", "iterations");
  int64_t idle = 0;
  for (const KernelLaunchShape &shape : shapes) {
    std::optional<int64_t> blocks = shape.blocks();
    std::string occupied = "?";
    if (blocks) {
      // Rounded up: one block of 132 SMs shows as 1%, not 0%.
      occupied = llvm::formatv("{0}%", llvm::divideCeil(100 * std::min(*blocks, multiprocessors), multiprocessors));
      idle += 2 * *blocks < multiprocessors;
    }
    row(shape.kernel, shape.op, shape.strategy, std::to_string(shape.launches), dims(shape.grid), dims(shape.block),
        number(blocks), occupied, number(shape.iterations));
  }
  os << llvm::formatv("kernels whose grid fills less than half of the {0} SMs: {1} of {2}\n", multiprocessors, idle,
                      shapes.size());
}
