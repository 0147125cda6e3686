//===- Passes.h - ember -> ember fusion passes ------------------*- C++ -*-===//
#ifndef EMBER_PASSES_PASSES_H
#define EMBER_PASSES_PASSES_H

#include "dialects/Ember/EmberDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <string>

namespace mlir::ember {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// Which fusions the fusion pipeline runs (all by default).
struct FusionOptions {
  bool swiglu = true;
  bool ngram = true;
  bool router = true;
  bool norm = true;
  bool moe = true;
  /// ember-fuse-moe-combine's rows-per-tile: expert rows one gate/up
  /// thread computes together (groups padded to it; 1: no padding).
  int64_t moeRowsPerTile = 4;

  /// Turns on or off the comma-separated fusions of `names` ("all" for
  /// every one); an unknown name is an error listing the known ones.
  LogicalResult set(llvm::StringRef names, bool enabled, std::string &error);
  LogicalResult disable(llvm::StringRef names, std::string &error) { return set(names, false, error); }
  LogicalResult enable(llvm::StringRef names, std::string &error) { return set(names, true, error); }
  /// The names of the enabled fusions, comma-separated ("" for none).
  std::string enabledNames() const;
};

/// The fusion names --disable-fusion takes, comma-separated.
std::string fusionNames();

/// Adds the enabled fusion passes (each nested on func.func).
void buildFusionPipeline(OpPassManager &pm, const FusionOptions &options);

/// Registers the fusion passes and `ember-fusion-pipeline{disable=...}`.
void registerEmberFusionPassesAndPipeline();

} // namespace mlir::ember

#endif // EMBER_PASSES_PASSES_H
