//===- KernelBinaries.h - PTX to cubin/fatbin inside gpu.binary -*- C++ -*-===//
#ifndef EMBER_LOWERING_NVPTX_KERNELBINARIES_H
#define EMBER_LOWERING_NVPTX_KERNELBINARIES_H

#include "lowering/nvptx/PtxasReport.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::ember {

struct KernelPtx {
  std::string module; // the outlined gpu.module's name
  std::string ptx;
};
/// The PTX text held by every gpu.binary of `module` (format isa).
std::vector<KernelPtx> collectPtx(ModuleOp module);

/// How an nvptx artifact embeds its kernels: Ptx is compiled by the driver
/// when the artifact loads (also for GPUs newer than the chip), Cubin runs
/// only on the chip, Fatbin holds both.
enum class KernelFormat { Ptx, Cubin, Fatbin };
llvm::StringRef kernelFormatName(KernelFormat format);

/// Writes each gpu.binary's PTX to `workDir`/<kernel module>.ptx and, unless
/// `format` is Ptx, assembles it there for `chip` (ptxas -v, whose commands
/// and output are appended to `ptxas.log` and parsed into `ptxas.kernels`;
/// fatbinary for Fatbin) and puts the result in the gpu.binary in place of
/// the PTX. Spills are reported, not failed on: the caller decides.
llvm::Error assembleKernels(ModuleOp module, KernelFormat format, llvm::StringRef chip,
                            llvm::StringRef workDir, PtxasReport &ptxas);

/// Exports `const char ember_nvptx_kernels[] = "<chip> <format>"`: the mark
/// by which the runtime tells an nvptx artifact from a CPU one.
void addNvptxArtifactMarker(ModuleOp module, llvm::StringRef chip, KernelFormat format);

struct PtxasResult {
  bool succeeded = false;
  std::string command; // to reproduce by hand
  std::string log;     // ptxas -v output: registers, spills, errors
};
/// Assembles `ptxPath` to `cubinPath` for `chip` with `ptxas -v`.
PtxasResult runPtxas(llvm::StringRef ptxas, llvm::StringRef ptxPath, llvm::StringRef chip,
                     llvm::StringRef cubinPath);

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_KERNELBINARIES_H
