//===- FusionPipeline.cpp - the enabled fusions, in order -----------------===//
#include "passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::ember;

namespace mlir::ember {
#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"
} // namespace mlir::ember

namespace {

/// One row per fusion, in pipeline order: its --disable-fusion name, its
/// switch in FusionOptions and its pass.
struct Fusion {
  llvm::StringLiteral name;
  bool FusionOptions::*enabled;
  std::unique_ptr<Pass> (*create)(const FusionOptions &);
};

const Fusion kFusions[] = {
    {"swiglu", &FusionOptions::swiglu,
     [](const FusionOptions &) { return createEmberFuseSwiGlu(); }},
    {"ngram", &FusionOptions::ngram, [](const FusionOptions &) { return createEmberFuseNgram(); }},
    {"router", &FusionOptions::router,
     [](const FusionOptions &) { return createEmberFuseRouter(); }},
    // After swiglu: a dense MLP's gate and up projections are then one reader.
    {"norm", &FusionOptions::norm, [](const FusionOptions &) { return createEmberFuseNorm(); }},
    {"moe", &FusionOptions::moe,
     [](const FusionOptions &options) {
       return createEmberFuseMoeCombine({options.moeRowsPerTile});
     }},
};

struct FusionPipelineOptions : PassPipelineOptions<FusionPipelineOptions> {
  Option<std::string> disable{*this, "disable",
                              llvm::cl::desc("Comma-separated fusions to skip, or 'all'"),
                              llvm::cl::init("")};
  Option<int64_t> moeRowsPerTile{*this, "moe-rows-per-tile",
                                 llvm::cl::desc("ember-fuse-moe-combine's rows-per-tile"),
                                 llvm::cl::init(FusionOptions().moeRowsPerTile)};
};

} // namespace

LogicalResult FusionOptions::set(llvm::StringRef names, bool enabled, std::string &error) {
  llvm::SmallVector<llvm::StringRef> items;
  names.split(items, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (llvm::StringRef item : items) {
    item = item.trim();
    if (item == "all") {
      for (const Fusion &fusion : kFusions)
        this->*fusion.enabled = enabled;
      continue;
    }
    const Fusion *match = llvm::find_if(kFusions, [&](const Fusion &f) { return f.name == item; });
    if (match == std::end(kFusions)) {
      error = ("unknown fusion '" + item + "' (known: " + fusionNames() + ", all)").str();
      return failure();
    }
    this->*match->enabled = enabled;
  }
  return success();
}

std::string FusionOptions::enabledNames() const {
  llvm::SmallVector<llvm::StringRef> names;
  for (const Fusion &fusion : kFusions)
    if (this->*fusion.enabled)
      names.push_back(fusion.name);
  return llvm::join(names, ",");
}

std::string mlir::ember::fusionNames() {
  return llvm::join(llvm::map_range(kFusions, [](const Fusion &f) { return f.name; }), ",");
}

void mlir::ember::buildFusionPipeline(OpPassManager &pm, const FusionOptions &options) {
  for (const Fusion &fusion : kFusions)
    if (options.*fusion.enabled)
      pm.addNestedPass<func::FuncOp>(fusion.create(options));
}

void mlir::ember::registerEmberFusionPassesAndPipeline() {
  registerEmberPasses();
  PassPipelineRegistration<FusionPipelineOptions>(
      "ember-fusion-pipeline", "Run ember's fusion passes (all but those disabled)",
      [](OpPassManager &pm, const FusionPipelineOptions &pipelineOptions) {
        FusionOptions options;
        std::string error;
        if (failed(options.disable(pipelineOptions.disable, error)))
          llvm::report_fatal_error(llvm::Twine("ember-fusion-pipeline: ") + error);
        options.moeRowsPerTile = pipelineOptions.moeRowsPerTile;
        buildFusionPipeline(pm, options);
      });
}
