//===- TrafficModel.h - static memory traffic of a decode step ---*- C++ -*-===//
//
// Walks one entry function (ember_step by default) as the compiler has it
// after the fusion phase, through its calls (a layer function called L times
// counts L times), and adds up what every kernel (ember op, memref.copy)
// reads and writes per class (TrafficOpInterface). The lower bound is what a
// step cannot avoid: every activated weight byte, gathered embedding row and
// attended KV row read once. docs/performance.md explains the model.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_PASSES_TRAFFICMODEL_H
#define EMBER_PASSES_TRAFFICMODEL_H

#include "dialects/Ember/EmberTraffic.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mlir::ember {

/// Kernels are the ember ops and memref.copy (lowered to a loop like them);
/// a kernel's index in its function counts the kernels before it at the
/// top level of the function's body.
bool isKernelOp(Operation &op);
/// The kernels one launch of a kernel op runs (moe_group: two when padded).
int64_t kernelCount(Operation *op);
/// "mla_absorb" for ember.mla_absorb, "copy" for memref.copy.
std::string kernelOpName(Operation *op);
/// "<function>#<index>": how the report names a kernel op (KernelTraffic).
std::string kernelTrafficName(llvm::StringRef function, int64_t index);

struct TrafficOptions {
  std::string function = "ember_step";
  int64_t tokens = 1;      // T
  int64_t position = 4096; // P
  int64_t sequences = 1;   // S: the sequences of the T tokens, each after P cached positions
};

/// One kernel: an op of the walked functions, summed over its launches.
struct KernelTraffic {
  Operation *op;
  std::string name; // kernelTrafficName(function, index of the kernel in it)
  int64_t launches = 0; // of all the op's kernels
  TrafficBytes bytes;
};

struct TrafficReport {
  TrafficOptions options;
  std::vector<KernelTraffic> kernels; // in execution order of first launch
  TrafficBytes total;
  /// Per class, the distinct bytes that must be read: for each buffer of
  /// that class, what kernels read of it, at most its size.
  std::array<int64_t, kNumTrafficClasses> lowerBound{};

  int64_t lowerBoundTotal() const;
};

/// Models `options.function` of `module`; fails (with a diagnostic) when the
/// function is missing or a buffer size cannot be resolved.
FailureOr<TrafficReport> modelTraffic(ModuleOp module, const TrafficOptions &options);

/// The per-kernel table, the totals, the lower bound, the bytes that cross
/// the bus when the gathered tables are in host memory and, last,
/// `decode step total / lower bound: <ratio>`.
void printTrafficReport(const TrafficReport &report, llvm::raw_ostream &os);

} // namespace mlir::ember

#endif // EMBER_PASSES_TRAFFICMODEL_H
