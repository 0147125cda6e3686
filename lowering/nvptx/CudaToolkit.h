//===- CudaToolkit.h - the one place that finds CUDA tools and chips -*- C++ -*-===//
#ifndef EMBER_LOWERING_NVPTX_CUDATOOLKIT_H
#define EMBER_LOWERING_NVPTX_CUDATOOLKIT_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::ember {

/// Where a CUDA toolkit may be: $CUDA_HOME if set, then /usr/local/cuda.
llvm::SmallVector<std::string> cudaToolkitRoots();

/// `name` (ptxas, fatbinary) in the bin/ of a toolkit root, else on PATH;
/// "" when no CUDA toolkit provides it.
std::string findCudaTool(llvm::StringRef name);

/// nvvm/libdevice/libdevice.10.bc of the first toolkit root having it, else "".
std::string findLibdevice();

/// What ember needs to know of a target chip.
struct ChipInfo {
  llvm::StringRef name;            // "sm_90"
  int64_t maxSharedBytesOptIn = 0; // dynamic shared memory per block after opting in
  /// The largest data-center part of the chip: what a launch should fill.
  llvm::StringRef part;      // "H100 SXM / H200"
  int64_t multiprocessors = 0; // its SMs
};

/// The chips ember compiles for (sm_80, sm_86, sm_89, sm_90), else nullopt.
std::optional<ChipInfo> lookupChip(llvm::StringRef chip);
/// "sm_80, sm_86, sm_89, sm_90", for messages.
std::string supportedChips();

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_CUDATOOLKIT_H
