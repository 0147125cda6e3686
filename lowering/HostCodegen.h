//===- HostCodegen.h - LLVM-dialect modules to host libraries ---*- C++ -*-===//
#ifndef EMBER_LOWERING_HOSTCODEGEN_H
#define EMBER_LOWERING_HOSTCODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::ember {

/// Translates an LLVM-dialect module to LLVM IR, optimizes it at O3 for the
/// host CPU and links it with ld.lld into a shared library at `path`, not
/// atomically: ember-compile links to a temporary, seals it and renames it
/// into place. Every C-interface function `_mlir_ciface_<f>` also
/// gets `void <f>_packed(void **args)` (see addPackedEntryPoints). The
/// optimized IR goes to `optimizedIr` if given.
llvm::Error emitHostSharedLibrary(ModuleOp module, llvm::StringRef path,
                                  std::string *optimizedIr = nullptr);

/// Exports `const char <symbol>[] = "<text>"`, NUL-terminated, from the
/// host library (a mark or a description the runtime reads with dlsym).
void addExportedString(ModuleOp module, llvm::StringRef symbol, llvm::StringRef text);

/// Only the LLVM IR translation and O3 optimization of the above.
llvm::Expected<std::string> emitOptimizedHostIr(ModuleOp module);

} // namespace mlir::ember

#endif // EMBER_LOWERING_HOSTCODEGEN_H
