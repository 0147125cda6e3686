//===- Registration.cpp - everything ember's tools register ---------------===//
#include "lowering/Registration.h"
#include "dialects/Ember/EmberDialect.h"
#include "lowering/Passes.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::ember::registerAllEmberDialects(DialectRegistry &registry) {
  registry.insert<EmberDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllGPUToLLVMIRTranslations(registry);
}

void mlir::ember::registerAllEmberPasses() {
  registerAllPasses();
  registerEmberFusionPassesAndPipeline();
  registerEmberLoweringPassesAndPipelines();
}
