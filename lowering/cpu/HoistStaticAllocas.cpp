//===- HoistStaticAllocas.cpp - loop scratch to the function entry (CPU) --===//
#include "lowering/cpu/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERHOISTSTATICALLOCAS
#include "lowering/cpu/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;

namespace {
struct EmberHoistStaticAllocasPass
    : mlir::ember::impl::EmberHoistStaticAllocasBase<EmberHoistStaticAllocasPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block &entry = func.getBody().front();
    SmallVector<memref::AllocaOp> inLoops;
    func.walk([&](memref::AllocaOp alloca) {
      if (alloca.getType().hasStaticShape() && alloca->getParentOfType<LoopLikeOpInterface>())
        inLoops.push_back(alloca);
    });
    for (memref::AllocaOp alloca : inLoops)
      alloca->moveBefore(&entry, entry.begin());
  }
};
} // namespace
