//===- TrafficModel.cpp - static memory traffic of a decode step ----------===//
//
// Two walks over the entry function and its callees: the first learns which
// buffers ops name by role (a KV cache, a weight) and which are written, the
// second counts, so an access is classed alike wherever it comes in the step.
// Buffer sizes are resolved from the IR: allocations and views carry their
// sizes as index values (memref.dim, constants, sums, products, minima),
// and the entry function's arguments take the step's T and P (entryShape).
//
//===----------------------------------------------------------------------===//
#include "passes/TrafficModel.h"
#include "dialects/Ember/EmberDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::ember;

namespace {

/// A function being walked and the call that entered it (none for the entry).
struct Frame {
  func::FuncOp func;
  func::CallOp call;
};

/// A buffer: the value no view derives from (an allocation or an argument
/// of the entry function), with the frame it is resolved in.
struct Root {
  Value value;
  unsigned frame;
};

} // namespace

bool mlir::ember::isKernelOp(Operation &op) {
  return isa_and_nonnull<EmberDialect>(op.getDialect()) || isa<memref::CopyOp>(op);
}

int64_t mlir::ember::kernelCount(Operation *op) {
  auto traffic = dyn_cast<TrafficOpInterface>(op);
  return traffic ? traffic.getKernelCount() : 1;
}

std::string mlir::ember::kernelOpName(Operation *op) {
  if (isa<memref::CopyOp>(op))
    return "copy";
  return op->getName().stripDialect().str();
}

std::string mlir::ember::kernelTrafficName(llvm::StringRef function, int64_t index) {
  return llvm::formatv("{0}#{1}", function, index).str();
}

namespace {

class StepTraffic final : public TrafficContext {
public:
  StepTraffic(ModuleOp module, const TrafficOptions &options)
      : TrafficContext(options.tokens, options.position), module(module) {}

  LogicalResult run(func::FuncOp entry, TrafficReport &report);

  SmallVector<int64_t> shape(Value memref) override { return shapeIn(memref, top()); }
  TrafficClass classOf(Value memref) override;
  void read(Value memref, int64_t bytes, std::optional<TrafficClass> cls) override {
    access(memref, bytes, cls, /*isWrite=*/false);
  }
  void write(Value memref, int64_t bytes, std::optional<TrafficClass> cls) override {
    access(memref, bytes, cls, /*isWrite=*/true);
  }

private:
  unsigned top() const { return frames.size() - 1; }
  LogicalResult walk(func::FuncOp func, TrafficReport *report);
  void access(Value memref, int64_t bytes, std::optional<TrafficClass> cls, bool isWrite);
  Root rootOf(Value value, unsigned frame);
  /// The caller's operand for an argument of a called function, else null.
  Value callOperand(BlockArgument arg, unsigned frame);
  SmallVector<int64_t> shapeIn(Value memref, unsigned frame);
  SmallVector<int64_t> entryShape(MemRefType type);
  std::optional<int64_t> evaluate(OpFoldResult size, unsigned frame);
  SmallVector<int64_t> unresolved(Value memref);

  ModuleOp module;
  SmallVector<Frame> frames;
  bool counting = false, failedToResolve = false;
  DenseMap<Value, TrafficClass> roles; // buffers ops named by role
  DenseSet<Value> written;             // buffers some kernel writes
  TrafficBytes current;                // the kernel being modelled
  /// Counting walk, per class: buffer -> (bytes read, its size).
  std::array<DenseMap<Value, std::pair<int64_t, int64_t>>, kNumTrafficClasses> reads;
};

} // namespace

LogicalResult StepTraffic::run(func::FuncOp entry, TrafficReport &report) {
  frames = {{entry, {}}};
  if (failed(walk(entry, nullptr)))
    return failure();
  counting = true;
  if (failed(walk(entry, &report)) || failedToResolve)
    return failure();
  for (unsigned cls = 0; cls < kNumTrafficClasses; ++cls)
    for (const auto &[root, bytes] : reads[cls])
      report.lowerBound[cls] += std::min(bytes.first, bytes.second);
  return success();
}

LogicalResult StepTraffic::walk(func::FuncOp func, TrafficReport *report) {
  int64_t index = 0;
  for (Operation &op : func.getBody().getOps()) {
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      if (!callee || callee.isExternal() ||
          llvm::any_of(frames, [&](const Frame &frame) { return frame.func == callee; }))
        return call.emitError("traffic model: cannot follow the call to @") << call.getCallee();
      frames.push_back({callee, call});
      if (failed(walk(callee, report)))
        return failure();
      frames.pop_back();
      continue;
    }
    if (!isKernelOp(op))
      continue;
    current = {};
    if (auto traffic = dyn_cast<TrafficOpInterface>(op))
      traffic.addTraffic(*this);
    else
      addTrafficFromEffects(&op, *this);
    int64_t kernels = kernelCount(&op);
    std::string name = kernelTrafficName(func.getName(), index);
    index += kernels;
    if (!report)
      continue;
    auto row = llvm::find_if(report->kernels, [&](const KernelTraffic &k) { return k.op == &op; });
    if (row == report->kernels.end()) {
      report->kernels.push_back({&op, name});
      row = std::prev(report->kernels.end());
    }
    row->launches += kernels;
    row->bytes += current;
    report->total += current;
  }
  return success();
}

void StepTraffic::access(Value memref, int64_t bytes, std::optional<TrafficClass> cls,
                         bool isWrite) {
  Root root = rootOf(memref, top());
  if (cls) {
    // A role beats "activations", which an op names only to keep a buffer
    // from being taken for a weight.
    auto [it, inserted] = roles.try_emplace(root.value, *cls);
    if (!inserted && it->second == TrafficClass::Activations)
      it->second = *cls;
  }
  TrafficClass as = cls ? *cls : classOf(memref);
  if (isWrite) {
    written.insert(root.value);
    current.written[unsigned(as)] += bytes;
    return;
  }
  current.read[unsigned(as)] += bytes;
  if (counting && as != TrafficClass::Activations) {
    auto &[read, size] = reads[unsigned(as)][root.value];
    read += bytes;
    int64_t elements = 1;
    for (int64_t extent : shapeIn(root.value, root.frame))
      elements *= extent;
    size = elements * elementBytes(root.value);
  }
}

TrafficClass StepTraffic::classOf(Value memref) {
  Root root = rootOf(memref, top());
  if (auto it = roles.find(root.value); it != roles.end())
    return it->second;
  // Checkpoint tensors are the floating-point arguments of a step that no
  // kernel writes (the KV cache, logits and hidden outputs are written).
  auto arg = dyn_cast<BlockArgument>(root.value);
  if (arg && isa<FloatType>(cast<MemRefType>(arg.getType()).getElementType()) &&
      !written.contains(root.value))
    return TrafficClass::Weights;
  return TrafficClass::Activations;
}

Value StepTraffic::callOperand(BlockArgument arg, unsigned frame) {
  if (frame == 0 || arg.getOwner() != &frames[frame].func.getBody().front())
    return {};
  return frames[frame].call.getOperand(arg.getArgNumber());
}

Root StepTraffic::rootOf(Value value, unsigned frame) {
  while (true) {
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      Value operand = callOperand(arg, frame);
      if (!operand)
        return {value, frame};
      value = operand;
      --frame;
    } else if (auto view = value.getDefiningOp<ViewLikeOpInterface>()) {
      value = view.getViewSource();
    } else if (auto transpose = value.getDefiningOp<memref::TransposeOp>()) {
      value = transpose.getIn();
    } else {
      return {value, frame};
    }
  }
}

SmallVector<int64_t> StepTraffic::unresolved(Value memref) {
  if (!failedToResolve)
    emitError(memref.getLoc()) << "traffic model: cannot resolve the sizes of a "
                               << memref.getType();
  failedToResolve = true;
  SmallVector<int64_t> shape(cast<MemRefType>(memref.getType()).getShape());
  for (int64_t &size : shape)
    size = ShapedType::isDynamic(size) ? 0 : size;
  return shape;
}

/// The entry function's arguments: token-indexed buffers ([T, ...]: the
/// only dynamic size is the first) have T rows; persistent per-slot tables
/// (the [slots, context] token table, the [.., slots, context, W] caches)
/// are taken as one slot holding the P + T positions of the step.
SmallVector<int64_t> StepTraffic::entryShape(MemRefType type) {
  SmallVector<int64_t> shape(type.getShape());
  int64_t dynamic = type.getNumDynamicDims(), seen = 0;
  if (dynamic == 1 && type.isDynamicDim(0)) {
    shape[0] = tokens;
    return shape;
  }
  for (int64_t &size : shape)
    if (ShapedType::isDynamic(size))
      size = ++seen == dynamic ? position + tokens : 1;
  return shape;
}

std::optional<int64_t> StepTraffic::evaluate(OpFoldResult size, unsigned frame) {
  if (std::optional<int64_t> constant = getConstantIntValue(size))
    return constant;
  Value value = cast<Value>(size);
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    if (Value operand = callOperand(arg, frame))
      return evaluate(operand, frame - 1);
    return std::nullopt;
  }
  if (auto dim = value.getDefiningOp<memref::DimOp>()) {
    std::optional<int64_t> index = dim.getConstantIndex();
    if (!index)
      return std::nullopt;
    return shapeIn(dim.getSource(), frame)[*index];
  }
  auto binary = [&](Operation *op, auto combine) -> std::optional<int64_t> {
    std::optional<int64_t> lhs = evaluate(op->getOperand(0), frame),
                           rhs = evaluate(op->getOperand(1), frame);
    if (!lhs || !rhs)
      return std::nullopt;
    return combine(*lhs, *rhs);
  };
  if (auto mul = value.getDefiningOp<arith::MulIOp>())
    return binary(mul, [](int64_t a, int64_t b) { return a * b; });
  if (auto add = value.getDefiningOp<arith::AddIOp>())
    return binary(add, [](int64_t a, int64_t b) { return a + b; });
  if (auto sub = value.getDefiningOp<arith::SubIOp>())
    return binary(sub, [](int64_t a, int64_t b) { return a - b; });
  if (auto min = value.getDefiningOp<arith::MinUIOp>())
    return binary(min, [](int64_t a, int64_t b) { return std::min(a, b); });
  return std::nullopt;
}

SmallVector<int64_t> StepTraffic::shapeIn(Value memref, unsigned frame) {
  auto type = cast<MemRefType>(memref.getType());
  if (type.hasStaticShape())
    return SmallVector<int64_t>(type.getShape());
  auto resolve = [&](ArrayRef<OpFoldResult> sizes) -> SmallVector<int64_t> {
    SmallVector<int64_t> shape;
    for (OpFoldResult size : sizes) {
      std::optional<int64_t> value = evaluate(size, frame);
      if (!value)
        return unresolved(memref);
      shape.push_back(*value);
    }
    return shape;
  };
  if (auto arg = dyn_cast<BlockArgument>(memref)) {
    if (Value operand = callOperand(arg, frame))
      return shapeIn(operand, frame - 1);
    if (frame == 0 && arg.getOwner() == &frames[0].func.getBody().front())
      return entryShape(type);
    return unresolved(memref);
  }
  Operation *def = memref.getDefiningOp();
  return llvm::TypeSwitch<Operation *, SmallVector<int64_t>>(def)
      .Case([&](memref::AllocOp op) { return resolve(op.getMixedSizes()); })
      .Case([&](memref::SubViewOp op) {
        SmallVector<OpFoldResult> kept;
        llvm::SmallBitVector dropped = op.getDroppedDims();
        for (auto [dim, size] : llvm::enumerate(op.getMixedSizes()))
          if (!dropped.test(dim))
            kept.push_back(size);
        return resolve(kept);
      })
      .Case([&](memref::ExpandShapeOp op) { return resolve(op.getMixedOutputShape()); })
      .Case([&](memref::CollapseShapeOp op) {
        SmallVector<int64_t> source = shapeIn(op.getSrc(), frame), shape;
        for (const ReassociationIndices &group : op.getReassociationIndices()) {
          int64_t product = 1;
          for (int64_t dim : group)
            product *= source[dim];
          shape.push_back(product);
        }
        return shape;
      })
      .Case([&](memref::TransposeOp op) {
        SmallVector<int64_t> source = shapeIn(op.getIn(), frame), shape;
        AffineMap permutation = op.getPermutation();
        for (unsigned dim = 0; dim < permutation.getNumResults(); ++dim)
          shape.push_back(source[permutation.getDimPosition(dim)]);
        return shape;
      })
      .Case([&](memref::CastOp op) { return shapeIn(op.getSource(), frame); })
      .Case([&](memref::ReinterpretCastOp op) { return resolve(op.getMixedSizes()); })
      .Default([&](Operation *) { return unresolved(memref); });
}

int64_t TrafficReport::lowerBoundTotal() const {
  int64_t sum = 0;
  for (int64_t bytes : lowerBound)
    sum += bytes;
  return sum;
}

FailureOr<TrafficReport> mlir::ember::modelTraffic(ModuleOp module, const TrafficOptions &options) {
  auto entry = module.lookupSymbol<func::FuncOp>(options.function);
  if (!entry || entry.isExternal())
    return module.emitError("traffic model: no function @") << options.function;
  TrafficReport report;
  report.options = options;
  StepTraffic traffic(module, options);
  if (failed(traffic.run(entry, report)))
    return failure();
  return report;
}

void mlir::ember::printTrafficReport(const TrafficReport &report, llvm::raw_ostream &os) {
  const TrafficOptions &o = report.options;
  os << llvm::formatv("traffic model of @{0}: T = {1} new tokens after P = {2} cached positions; "
                      "bytes read + written per step (a kernel's summed over its launches)\n",
                      o.function, o.tokens, o.position);
  auto row = [&](StringRef kernel, StringRef op, StringRef launches,
                 ArrayRef<std::string> columns) {
    os << llvm::formatv("{0,-24} {1,-26} {2,8}", kernel, op, launches);
    for (const std::string &column : columns)
      os << llvm::formatv(" {0,14}", column);
    os << "\n";
  };
  // The classes' bytes as `value` picks them, and their sum.
  auto columns = [](const TrafficBytes &bytes, auto value) {
    SmallVector<std::string> out;
    int64_t sum = 0;
    for (unsigned cls = 0; cls < kNumTrafficClasses; ++cls) {
      sum += value(bytes, cls);
      out.push_back(std::to_string(value(bytes, cls)));
    }
    out.push_back(std::to_string(sum));
    return out;
  };
  auto both = [](const TrafficBytes &b, unsigned cls) { return b.read[cls] + b.written[cls]; };
  SmallVector<std::string> header;
  for (unsigned cls = 0; cls < kNumTrafficClasses; ++cls)
    header.push_back(trafficClassName(TrafficClass(cls)).str());
  header.push_back("total");
  row("kernel", "op", "launches", header);
  for (const KernelTraffic &kernel : report.kernels)
    row(kernel.name, kernel.op->getName().getStringRef(), std::to_string(kernel.launches),
        columns(kernel.bytes, both));
  row("read", "", "", columns(report.total, [](const TrafficBytes &b, unsigned cls) {
        return b.read[cls];
      }));
  row("written", "", "", columns(report.total, [](const TrafficBytes &b, unsigned cls) {
        return b.written[cls];
      }));
  row("total", "", "", columns(report.total, both));
  int64_t total = report.total.total(), bound = report.lowerBoundTotal();
  auto bounds = report.lowerBound;
  int64_t kernels = 0, launches = 0;
  for (const KernelTraffic &kernel : report.kernels) {
    kernels += kernelCount(kernel.op);
    launches += kernel.launches;
  }
  os << llvm::formatv("kernels per decode step: {0} ({1} launches)\n", kernels, launches);
  os << llvm::formatv("decode step total: {0} bytes\n", total);
  os << llvm::formatv("lower bound: {0} bytes (weights {1} + ngram {2} + kv {3})\n", bound,
                      bounds[unsigned(TrafficClass::Weights)],
                      bounds[unsigned(TrafficClass::Ngram)], bounds[unsigned(TrafficClass::Kv)]);
  os << llvm::formatv("decode step total / lower bound: {0:F4}\n",
                      bound ? double(total) / double(bound) : 0.0);
}
