//===- KernelOrigin.h - which ember op a loop nest came from ----*- C++ -*-===//
//
// ember-lower-to-loops names every op's loops after it with a NameLoc
// "<op>#<index>" (index: the op's kernel index in its function, as the
// traffic model counts), which the loops, the gpu.launch and the kernel
// inherit; the GPU mapping stage names kernels and diagnostics from it.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_KERNELORIGIN_H
#define EMBER_LOWERING_KERNELORIGIN_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/StringExtras.h"

#include <optional>
#include <string>

namespace mlir::ember {

struct KernelOrigin {
  std::string op; // "mla_absorb"
  int64_t index = 0;
};

inline Location kernelOriginLoc(Location loc, const KernelOrigin &origin) {
  std::string name = origin.op + "#" + std::to_string(origin.index);
  return NameLoc::get(StringAttr::get(loc.getContext(), name), loc);
}

/// The origin named in `loc` (searched through fused and call-site
/// locations), if any.
inline std::optional<KernelOrigin> findKernelOrigin(Location loc) {
  std::optional<KernelOrigin> found;
  loc->walk([&](Location inner) {
    auto name = dyn_cast<NameLoc>(inner);
    if (!name)
      return WalkResult::advance();
    auto [op, index] = name.getName().getValue().rsplit('#');
    int64_t value = 0;
    if (index.empty() || !llvm::to_integer(index, value, 10))
      return WalkResult::advance();
    found = KernelOrigin{op.str(), value};
    return WalkResult::interrupt();
  });
  return found;
}

/// Names every kernel op of `root`'s functions that has no origin yet
/// (ember-lower-to-loops, ember-gpu-strategies; LowerToLoops.cpp).
void nameKernelOrigins(Operation *root);

} // namespace mlir::ember

#endif // EMBER_LOWERING_KERNELORIGIN_H
