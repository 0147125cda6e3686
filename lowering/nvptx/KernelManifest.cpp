//===- KernelManifest.cpp - what each kernel of an artifact is ------------===//
#include "lowering/nvptx/KernelManifest.h"
#include "dialects/Ember/EmberDialect.h"
#include "passes/TrafficModel.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <set>

using namespace mlir;
using namespace mlir::ember;

namespace {

struct StepShape {
  int64_t tokens, position;
};
// Five shapes determine the five coefficients; the position checks must
// hold, the token checks (in increasing T) bound where the polynomial holds.
constexpr StepShape kFitShapes[] = {{1, 0}, {2, 0}, {3, 0}, {1, 1}, {2, 1}};
constexpr StepShape kPositionChecks[] = {{3, 64}, {1, 300}};
constexpr StepShape kTokenChecks[] = {{4, 7}, {6, 7}, {8, 7}, {16, 7}, {32, 7}, {64, 7}, {128, 7}, {512, 7}};
constexpr int64_t kFittedTokens = 3;

double evaluate(const std::array<double, 5> &c, StepShape shape) {
  double t = double(shape.tokens), p = double(shape.position);
  return c[0] + c[1] * t + c[2] * p + c[3] * t * p + c[4] * t * t;
}

llvm::SmallVector<StepShape> allShapes() {
  llvm::SmallVector<StepShape> shapes(std::begin(kFitShapes), std::end(kFitShapes));
  shapes.append(std::begin(kPositionChecks), std::end(kPositionChecks));
  shapes.append(std::begin(kTokenChecks), std::end(kTokenChecks));
  return shapes;
}

/// Bytes per launch of every kernel op reachable from `entry` at `shape`.
std::optional<llvm::StringMap<double>> bytesPerLaunch(ModuleOp module, func::FuncOp entry, StepShape shape) {
  TrafficOptions options;
  options.function = entry.getName().str();
  options.tokens = shape.tokens;
  options.position = shape.position;
  FailureOr<TrafficReport> report = modelTraffic(module, options);
  if (failed(report))
    return std::nullopt;
  llvm::StringMap<double> bytes;
  for (const KernelTraffic &kernel : report->kernels)
    if (kernel.launches > 0)
      bytes[kernel.name] = double(kernel.bytes.total()) / double(kernel.launches);
  return bytes;
}

/// The exact polynomial through `f` at allShapes()' fit shapes, if it
/// matches the position checks, valid up to the first token check it
/// misses.
std::optional<TrafficPolynomial> fit(llvm::ArrayRef<double> f) {
  // f(T, 0) = c1 + cT T + cTT T^2 at T = 1, 2, 3; f(T, 1) - f(T, 0) = cP + cTP T.
  std::array<double, 5> c{};
  c[4] = (f[2] - 2 * f[1] + f[0]) / 2;
  c[1] = f[1] - f[0] - 3 * c[4];
  c[0] = f[0] - c[1] - c[4];
  double g1 = f[3] - f[0], g2 = f[4] - f[1];
  c[3] = g2 - g1;
  c[2] = g1 - c[3];
  auto matches = [&](StepShape shape, double expected) { return std::abs(evaluate(c, shape) - expected) <= 0.5; };
  llvm::ArrayRef<double> checked = f.drop_front(std::size(kFitShapes));
  for (auto [shape, expected] : llvm::zip(kPositionChecks, checked))
    if (!matches(shape, expected))
      return std::nullopt;
  TrafficPolynomial polynomial{c, kFittedTokens};
  for (auto [shape, expected] : llvm::zip(kTokenChecks, checked.drop_front(std::size(kPositionChecks)))) {
    if (!matches(shape, expected))
      break;
    polynomial.maxTokens = shape.tokens;
  }
  return polynomial;
}

} // namespace

llvm::StringMap<std::optional<TrafficPolynomial>> mlir::ember::fitKernelTraffic(ModuleOp module) {
  // The model reports what it cannot resolve as errors; here that only
  // means "not modelled".
  ScopedDiagnosticHandler quiet(module.getContext(), [](Diagnostic &) { return success(); });
  llvm::StringMap<std::optional<TrafficPolynomial>> fitted;
  for (func::FuncOp entry : module.getOps<func::FuncOp>()) {
    if (entry.isExternal() || entry.isPrivate())
      continue;
    SmallVector<llvm::StringMap<double>> samples;
    llvm::SmallVector<StepShape> shapes = allShapes();
    for (StepShape shape : shapes) {
      std::optional<llvm::StringMap<double>> bytes = bytesPerLaunch(module, entry, shape);
      if (!bytes)
        break;
      samples.push_back(std::move(*bytes));
    }
    if (samples.size() != shapes.size())
      continue;
    for (const auto &kernel : samples.front()) {
      if (fitted.contains(kernel.getKey()))
        continue; // the same layer function, reached from another entry point
      SmallVector<double> values;
      for (const llvm::StringMap<double> &sample : samples)
        values.push_back(sample.lookup(kernel.getKey()));
      fitted[kernel.getKey()] = fit(values);
    }
  }
  return fitted;
}

std::string mlir::ember::buildKernelManifest(ModuleOp module,
                                             const llvm::StringMap<std::optional<TrafficPolynomial>> &traffic) {
  llvm::json::Array kernels;
  llvm::StringSet<> listed;
  std::set<std::pair<std::string, Block *>> modelled;
  module.walk([&](gpu::LaunchFuncOp launch) {
    StringRef name = launch.getKernelName().getValue();
    auto container = module.lookupSymbol<gpu::GPUModuleOp>(launch.getKernelModuleName());
    auto decision = container ? container->getAttrOfType<GpuKernelAttr>(GpuKernelAttr::kAttrName) : nullptr;
    auto function = launch->getParentOfType<func::FuncOp>();
    if (!decision || !function || !listed.insert(name).second)
      return;
    std::string key = kernelTrafficName(function.getName(), decision.getIndex());
    llvm::json::Value bytes = nullptr, maxTokens = nullptr;
    // An op's traffic goes to its first kernel (split_kv's partial kernel);
    // its others in the same block (the combine) count 0, so that per-op
    // sums count it once. Kernels in other blocks are alternatives
    // (warp_per_row or mma_sync_tile, by T): each carries the whole.
    if (std::optional<TrafficPolynomial> polynomial = traffic.lookup(key)) {
      std::array<double, 5> coefficients{};
      if (modelled.insert({key, launch->getBlock()}).second)
        coefficients = polynomial->coefficients;
      bytes = llvm::json::Array(llvm::ArrayRef<double>(coefficients));
      maxTokens = polynomial->maxTokens;
    }
    kernels.push_back(llvm::json::Object{{"name", name},
                                         {"function", function.getName()},
                                         {"op", decision.getOp()},
                                         {"op_index", decision.getIndex()},
                                         {"strategy", decision.getStrategy()},
                                         {"block", llvm::json::Array(decision.getBlock())},
                                         {"bytes", std::move(bytes)},
                                         {"bytes_max_tokens", std::move(maxTokens)}});
  });
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(llvm::json::Object{{"kernels", std::move(kernels)}});
  return text;
}
