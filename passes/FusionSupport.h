//===- FusionSupport.h - aliasing and buffer clean-up of the fusions -*- C++ -*-===//
#ifndef EMBER_PASSES_FUSIONSUPPORT_H
#define EMBER_PASSES_FUSIONSUPPORT_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallVectorExtras.h"

namespace mlir::ember {

/// The buffer `value` views: through view-like ops (subviews, reshapes,
/// casts) to an allocation or a block argument.
inline Value rootBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

/// Whether an op in [first, last) of one block may write or free one of
/// `buffers`: it writes or frees a buffer with the same root, writes memory
/// it does not name, or has effects it does not list (no
/// MemoryEffectOpInterface, or regions whose ops it does not report).
///
/// The fusions' alias policy: buffers with different roots do not alias.
/// Allocations are distinct, and ember functions never receive overlapping
/// memory through two arguments: the graph builders (models/) pass each
/// layer distinct buffers and the runtime passes distinct allocations for
/// the state, outputs and weights (docs/passes.md, "Alias policy").
inline bool mayWriteBetween(Operation *first, Operation *last, ArrayRef<Value> buffers) {
  SmallVector<Value> roots = llvm::map_to_vector(buffers, rootBuffer);
  for (Operation *op = first; op != last; op = op->getNextNode()) {
    if (isMemoryEffectFree(op))
      continue;
    auto effecting = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effecting || op->getNumRegions() != 0)
      return true;
    SmallVector<MemoryEffects::EffectInstance> effects;
    effecting.getEffects(effects);
    for (const MemoryEffects::EffectInstance &effect : effects) {
      if (!isa<MemoryEffects::Write, MemoryEffects::Free>(effect.getEffect()))
        continue;
      Value target = effect.getValue();
      if (!target || llvm::is_contained(roots, rootBuffer(target)))
        return true;
    }
  }
  return false;
}

/// Erases `buffer`'s allocation and deallocation when nothing else uses it.
inline bool eraseIfUnused(Value buffer) {
  auto alloc = buffer.getDefiningOp<memref::AllocOp>();
  auto isDealloc = [](Operation *user) { return isa<memref::DeallocOp>(user); };
  if (!alloc || !llvm::all_of(buffer.getUsers(), isDealloc))
    return false;
  for (Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
    user->erase();
  alloc->erase();
  return true;
}

} // namespace mlir::ember

#endif // EMBER_PASSES_FUSIONSUPPORT_H
