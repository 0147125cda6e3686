//===- KernelManifest.h - what each kernel of an artifact is ----*- C++ -*-===//
//
// nvptx artifacts export `ember_kernel_manifest`, a JSON description of
// their kernels that the runtime reads to name kernels in errors and to
// profile them (docs/gpu.md):
//   {"kernels": [{"name", "function", "op", "op_index", "strategy",
//                 "block": [x, y, z], "bytes": [c1, cT, cP, cTP, cTT] | null,
//                 "bytes_max_tokens": N | null}]}
// A launch from a call of T <= N rows at start position P moves
// c1 + cT T + cP P + cTP T P + cTT T^2 bytes by the traffic model (beyond N
// the model is not of that form: routed experts saturate).
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_NVPTX_KERNELMANIFEST_H
#define EMBER_LOWERING_NVPTX_KERNELMANIFEST_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

#include <array>
#include <optional>
#include <string>

namespace mlir::ember {

/// Modelled bytes of one kernel launch as a polynomial in the call's rows T
/// and start position P, with coefficients of {1, T, P, T P, T^2}, valid
/// for T <= maxTokens.
struct TrafficPolynomial {
  std::array<double, 5> coefficients{};
  int64_t maxTokens = 0;
};

/// For every kernel op (by kernelTrafficName) reachable from an entry point
/// of the fused-phase `module`: its bytes per launch, fitted exactly to the
/// traffic model at T <= 3 and checked at more positions and tokens;
/// nullopt where the model does not have that form even for T <= 3 or
/// cannot be evaluated.
llvm::StringMap<std::optional<TrafficPolynomial>> fitKernelTraffic(ModuleOp module);

/// The manifest of the kernels in the gpu-phase `module` (the gpu.modules
/// ember-map-to-gpu created), with the fitted traffic.
std::string buildKernelManifest(ModuleOp module,
                                const llvm::StringMap<std::optional<TrafficPolynomial>> &traffic);

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_KERNELMANIFEST_H
