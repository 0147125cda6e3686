//===- FusionSupport.h - buffer clean-up shared by the fusions --*- C++ -*-===//
#ifndef EMBER_PASSES_FUSIONSUPPORT_H
#define EMBER_PASSES_FUSIONSUPPORT_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::ember {

/// The buffer `value` views: through view-like ops (subviews, reshapes,
/// casts) to an allocation or a block argument.
inline Value rootBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
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
