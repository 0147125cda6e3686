//===- Codegen.h - LLVM-dialect modules to binaries -------------*- C++ -*-===//
#ifndef EMBER_LOWERING_CODEGEN_H
#define EMBER_LOWERING_CODEGEN_H

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
