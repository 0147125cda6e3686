//===- PtxasReport.h - per-kernel resources from `ptxas -v` -----*- C++ -*-===//
#ifndef EMBER_LOWERING_NVPTX_PTXASREPORT_H
#define EMBER_LOWERING_NVPTX_PTXASREPORT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::ember {

/// What `ptxas -v` reports for one function of one kernel module.
struct KernelResources {
  std::string module;   // the gpu.binary (file <module>.ptx in the work dir)
  std::string function; // the entry function, or a callee ptxas kept
  std::string command;  // the ptxas command that assembled it, to reproduce
  int64_t registers = 0;
  int64_t sharedBytes = 0; // static shared memory (smem)
  int64_t stackBytes = 0;
  int64_t spillStoreBytes = 0;
  int64_t spillLoadBytes = 0;

  bool spills() const { return spillStoreBytes != 0 || spillLoadBytes != 0; }
};

/// ptxas -v output of every kernel module an artifact embeds.
struct PtxasReport {
  std::string log; // every command and its output, as ptxas.log
  std::vector<KernelResources> kernels;
};

/// Parses the `ptxas -v` output of one module: one entry per function named
/// by "Compiling entry function" or "Function properties for", in order.
/// Lines it does not know (gmem, compile time, warnings) are skipped.
std::vector<KernelResources> parsePtxasLog(llvm::StringRef log, llvm::StringRef module = "",
                                           llvm::StringRef command = "");

/// A table with one row per function (module, registers, shared memory,
/// stack, spill store/load bytes) and a summary line: the number of rows,
/// the maximum registers and shared memory, and how many spill.
std::string formatPtxasReport(llvm::ArrayRef<KernelResources> kernels, llvm::StringRef chip);

/// One line per spilling function naming it, its spill bytes and the ptxas
/// command that reproduces it; "" when nothing spills.
std::string describeSpills(llvm::ArrayRef<KernelResources> kernels);

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_PTXASREPORT_H
