//===- LaunchShapes.h - what each kernel of a step launches ------*- C++ -*-===//
//
// The launch shape of every kernel an entry function runs, at given T and P,
// read off the IR after the GPU mapping stage: the grid and block each
// gpu.launch_func asks for, and the loop iterations its first thread runs.
// A kernel that leaves most SMs idle at decode, or that loops serially over
// a reduction, shows without a GPU (`ember-compile --report --target nvptx`).
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_NVPTX_LAUNCHSHAPES_H
#define EMBER_LOWERING_NVPTX_LAUNCHSHAPES_H

#include "passes/TrafficModel.h"

#include <array>
#include <optional>

namespace mlir::ember {

struct KernelLaunchShape {
  std::string kernel;       // the gpu.func's name
  std::string op, strategy; // from its #ember.gpu_kernel
  int64_t launches = 0;     // per step
  /// Empty where a size depends on data (a count read from memory).
  std::optional<std::array<int64_t, 3>> grid, block;
  /// Iterations of the loops thread 0 of block 0 runs (nested loops
  /// multiply, a loop's trips take its bounds at the enclosing loops' first
  /// iteration); 0 for straight-line code; empty where a trip count depends
  /// on data.
  std::optional<int64_t> iterations;

  std::optional<int64_t> blocks() const;
};

/// The kernels `options.function` launches (through its calls), in order of
/// first launch. The entry's index arguments are taken in ModelAbi's order:
/// slot 0, then start P. Fails (with a diagnostic) when the function is
/// missing or a call cannot be followed.
FailureOr<std::vector<KernelLaunchShape>> modelLaunchShapes(ModuleOp module, const TrafficOptions &options);

/// One row per kernel: grid, block, blocks, the share of `multiprocessors`
/// SMs (those of `part`) the grid can occupy, loop iterations per thread;
/// then how many kernels leave most SMs idle.
void printLaunchShapes(ArrayRef<KernelLaunchShape> shapes, const TrafficOptions &options, int64_t multiprocessors,
                       StringRef part, llvm::raw_ostream &os);

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_LAUNCHSHAPES_H
