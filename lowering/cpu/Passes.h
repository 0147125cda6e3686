//===- Passes.h - ember's CPU passes -----------------------------*- C++ -*-===//
#ifndef EMBER_LOWERING_CPU_PASSES_H
#define EMBER_LOWERING_CPU_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::ember {

#define GEN_PASS_DECL
#include "lowering/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lowering/cpu/Passes.h.inc"

} // namespace mlir::ember

#endif // EMBER_LOWERING_CPU_PASSES_H
