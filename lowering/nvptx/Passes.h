//===- Passes.h - ember's NVPTX passes -----------------------------*- C++ -*-===//
#ifndef EMBER_LOWERING_NVPTX_PASSES_H
#define EMBER_LOWERING_NVPTX_PASSES_H

#include "lowering/Passes.h"

#include "mlir/Pass/Pass.h"

namespace mlir::ember {

#define GEN_PASS_DECL
#include "lowering/nvptx/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lowering/nvptx/Passes.h.inc"

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_PASSES_H
