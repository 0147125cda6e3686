//===- Codegen.h - LLVM-dialect modules to binaries -------------*- C++ -*-===//
#ifndef EMBER_LOWERING_CODEGEN_H
#define EMBER_LOWERING_CODEGEN_H

#include "lowering/PtxasReport.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::ember {

/// Translates an LLVM-dialect module to LLVM IR, optimizes it at O3 for the
/// host CPU and links it with ld.lld into a shared library at `path`
/// (written atomically). Every C-interface function `_mlir_ciface_<f>` also
/// gets `void <f>_packed(void **args)` (see addPackedEntryPoints). The
/// optimized IR goes to `optimizedIr` if given.
llvm::Error emitHostSharedLibrary(ModuleOp module, llvm::StringRef path,
                                  std::string *optimizedIr = nullptr);

/// Only the LLVM IR translation and O3 optimization of the above.
llvm::Expected<std::string> emitOptimizedHostIr(ModuleOp module);

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

/// `name` (ptxas, fatbinary) in $CUDA_HOME/bin, /usr/local/cuda/bin or on
/// PATH; "" when no CUDA toolkit provides it.
std::string findCudaTool(llvm::StringRef name);

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

#endif // EMBER_LOWERING_CODEGEN_H
