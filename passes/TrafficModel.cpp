//===- TrafficModel.cpp - static memory traffic of a decode step ----------===//
//
// Two walks over the entry function and its callees: the first learns which
// buffers ops name by role (a KV cache, a weight) and which are written, the
// second counts, so an access is classed alike wherever it comes in the step.
// Buffer sizes are resolved from the IR for the step's T and P
// (SizeEvaluator).
//
//===----------------------------------------------------------------------===//
#include "passes/TrafficModel.h"
#include "passes/SizeEvaluator.h"
#include "dialects/Ember/EmberDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::ember;

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
      : TrafficContext(options.tokens, options.position, options.sequences), module(module),
        sizes(options.tokens, options.position, "traffic model", options.sequences) {}

  LogicalResult run(func::FuncOp entry, TrafficReport &report);

  SmallVector<int64_t> shape(Value memref) override { return sizes.shapeIn(memref, sizes.top()); }
  TrafficClass classOf(Value memref) override;
  void read(Value memref, int64_t bytes, std::optional<TrafficClass> cls) override {
    access(memref, bytes, cls, /*isWrite=*/false);
  }
  void write(Value memref, int64_t bytes, std::optional<TrafficClass> cls) override {
    access(memref, bytes, cls, /*isWrite=*/true);
  }

private:
  LogicalResult walk(func::FuncOp func, TrafficReport *report);
  void access(Value memref, int64_t bytes, std::optional<TrafficClass> cls, bool isWrite);

  ModuleOp module;
  SizeEvaluator sizes;
  bool counting = false;
  DenseMap<Value, TrafficClass> roles; // buffers ops named by role
  DenseSet<Value> written;             // buffers some kernel writes
  TrafficBytes current;                // the kernel being modelled
  /// Counting walk, per class: buffer -> (bytes read, its size).
  std::array<DenseMap<Value, std::pair<int64_t, int64_t>>, kNumTrafficClasses> reads;
};

} // namespace

LogicalResult StepTraffic::run(func::FuncOp entry, TrafficReport &report) {
  sizes.enter(&entry.getBody().front(), nullptr, {});
  if (failed(walk(entry, nullptr)))
    return failure();
  counting = true;
  if (failed(walk(entry, &report)) || sizes.failedToResolve())
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
      if (!callee || callee.isExternal() || sizes.isEntered(&callee.getBody().front()))
        return call.emitError("traffic model: cannot follow the call to @") << call.getCallee();
      sizes.enter(&callee.getBody().front(), call, call.getOperands());
      if (failed(walk(callee, report)))
        return failure();
      sizes.leave();
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
  SizeEvaluator::Root root = sizes.rootOf(memref, sizes.top());
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
    for (int64_t extent : sizes.shapeIn(root.value, root.frame))
      elements *= extent;
    size = elements * elementBytes(root.value);
  }
}

TrafficClass StepTraffic::classOf(Value memref) {
  SizeEvaluator::Root root = sizes.rootOf(memref, sizes.top());
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
  std::string sequences = o.sequences == 1 ? "" : llvm::formatv(" of S = {0} sequences, each", o.sequences).str();
  os << llvm::formatv("traffic model of @{0}: T = {1} new tokens{2} after P = {3} cached positions; "
                      "bytes read + written per step (a kernel's summed over its launches)\n",
                      o.function, o.tokens, sequences, o.position);
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
  // The gathered rows are all that crosses the bus when the tables live in
  // host memory (ember-run --tables host).
  int64_t gathered = report.total.bytes(TrafficClass::Ngram);
  os << llvm::formatv("tables in host memory: {0} bytes per step over the bus ({1:F3} us at PCIe 5 x16's 64 GB/s), "
                      "{2} bytes in device memory\n",
                      gathered, double(gathered) / 64e9 * 1e6, total - gathered);
  os << llvm::formatv("decode step total / lower bound: {0:F4}\n",
                      bound ? double(total) / double(bound) : 0.0);
}
