//===- LowerDenseOps.cpp - dense ops to scf.parallel nests ------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"

using namespace mlir;
using namespace mlir::ember;

void mlir::ember::populateDenseLoweringPatterns(RewritePatternSet &patterns) {}
