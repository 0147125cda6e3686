//===- CheckHostMemoryAccess.cpp - no device dereference on the host ------===//
#include "lowering/nvptx/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERCHECKHOSTMEMORYACCESS
#include "lowering/nvptx/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;

namespace {

bool isMemRef(Value value) { return value && isa<BaseMemRefType>(value.getType()); }

/// What `op` in a host function would do to memref memory from the CPU, or
/// nullptr when it only handles memrefs as values.
const char *hostAccess(Operation *op, SymbolTableCollection &symbols) {
  // gpu.launch_func/alloc/dealloc/memcpy/wait become runtime calls.
  if (isa<gpu::GPUDialect>(op->getDialect()))
    return nullptr;
  bool memrefOperands = llvm::any_of(op->getOperands(), isMemRef);
  if (auto call = dyn_cast<CallOpInterface>(op)) {
    auto callee = dyn_cast_or_null<FunctionOpInterface>(call.resolveCallableInTable(&symbols));
    // A defined host callee is checked itself.
    if (callee && !callee.isExternal())
      return nullptr;
    // ember's runtime hooks copy what they read from the device.
    if (callee && callee->hasAttr("ember.reads_device_memory"))
      return nullptr;
    return memrefOperands ? "passes memrefs to an external function" : nullptr;
  }
  if (auto interface = dyn_cast<MemoryEffectOpInterface>(op)) {
    SmallVector<MemoryEffects::EffectInstance> effects;
    interface.getEffects(effects);
    for (const MemoryEffects::EffectInstance &effect : effects) {
      bool onMemRef = isMemRef(effect.getValue()) || (!effect.getValue() && memrefOperands);
      if (!onMemRef)
        continue;
      if (isa<MemoryEffects::Allocate>(effect.getEffect()))
        return "allocates host memory for a memref";
      if (isa<MemoryEffects::Free>(effect.getEffect()))
        return "frees memref memory on the host";
      return "reads or writes memref contents";
    }
    return nullptr;
  }
  // Region ops (scf.if, scf.for) have their nested ops checked.
  if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
    return nullptr;
  return memrefOperands ? "has unknown effects on a memref operand" : nullptr;
}

struct EmberCheckHostMemoryAccessPass
    : mlir::ember::impl::EmberCheckHostMemoryAccessBase<EmberCheckHostMemoryAccessPass> {
  void runOnOperation() override {
    SymbolTableCollection symbols;
    for (auto function : getOperation().getOps<func::FuncOp>()) {
      WalkResult result = function.walk([&](Operation *op) {
        const char *access = hostAccess(op, symbols);
        if (!access)
          return WalkResult::advance();
        op->emitError() << "'" << op->getName() << "' " << access << " in host function '"
                        << function.getName()
                        << "': on the nvptx target memrefs are device memory, which only "
                           "gpu kernels may access";
        return WalkResult::interrupt();
      });
      if (result.wasInterrupted())
        return signalPassFailure();
    }
  }
};

} // namespace
