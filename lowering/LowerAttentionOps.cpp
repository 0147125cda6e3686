//===- LowerAttentionOps.cpp - attention ops to scf.parallel nests ------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"

using namespace mlir;
using namespace mlir::ember;

void mlir::ember::populateAttentionLoweringPatterns(RewritePatternSet &patterns) {}
