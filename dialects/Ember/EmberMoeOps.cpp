//===- EmberMoeOps.cpp - verifiers of the moe ops ------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/VerifierSupport.h"

using namespace mlir;
using namespace mlir::ember;
