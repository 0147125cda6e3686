//===- FusionSupport.h - buffer clean-up shared by the fusions --*- C++ -*-===//
#ifndef EMBER_PASSES_FUSIONSUPPORT_H
#define EMBER_PASSES_FUSIONSUPPORT_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::ember {

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
