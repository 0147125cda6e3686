//===- EmberDialect.cpp - the ember dialect -------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/NgramMath.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ember;

#include "dialects/Ember/EmberDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Ember/EmberAttrs.cpp.inc"

void EmberDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Ember/EmberAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/Ember/EmberOps.cpp.inc"
      >();
}

LogicalResult NgramConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                      int64_t vocab, int64_t m, int64_t n, int64_t k,
                                      int64_t eos) {
  if (vocab < 1)
    return emitError() << "n-gram vocab must be >= 1, got " << vocab;
  if (m < 1)
    return emitError() << "n-gram m must be >= 1, got " << m;
  if (n < 2)
    return emitError() << "n-gram n (emb_neighbor_num) must be >= 2, got " << n;
  if (k < 1)
    return emitError() << "n-gram k (emb_split_num) must be >= 1, got " << k;
  if (eos < 0 || eos >= vocab)
    return emitError() << "n-gram eos must lie in [0, " << vocab << "), got " << eos;
  // Ids are stored as i32: the largest table, M_{E-1} = m + 2E - 1, must fit.
  int64_t largestRows = m + 2 * k * (n - 1) - 1;
  if (largestRows > INT32_MAX)
    return emitError() << "n-gram table rows must fit in i32, largest table has "
                       << largestRows;
  if (!::ember::ngramHashFitsIn64Bits(vocab, largestRows, n))
    return emitError() << "n-gram hash of order " << n << " over vocab " << vocab
                       << " into " << largestRows << " rows can exceed 64 bits";
  return success();
}

LogicalResult GpuKernelAttr::verify(function_ref<InFlightDiagnostic()> emitError, StringRef op,
                                    int64_t index, StringRef strategy, ArrayRef<int64_t> block,
                                    ArrayRef<int64_t> gridDims, ArrayRef<int64_t> threadDims) {
  if (index < 0)
    return emitError() << "gpu_kernel index must be >= 0, got " << index;
  if (!llvm::is_contained(
          {"thread_per_element", "warp_per_row", "block_per_row", "block_split_k", "split_kv", "mma_sync_tile"},
          strategy))
    return emitError() << "gpu_kernel strategy must be thread_per_element, warp_per_row, block_per_row, "
                          "block_split_k, split_kv or mma_sync_tile, got '"
                       << strategy << "'";
  if (block.size() != 3 || gridDims.size() != 3 || threadDims.size() != 3)
    return emitError() << "gpu_kernel block, grid_dims and thread_dims need 3 entries (x, y, z)";
  if (llvm::any_of(block, [](int64_t size) { return size < 1; }))
    return emitError() << "gpu_kernel block sizes must be >= 1";
  return success();
}

SmallVector<int64_t> NgramConfigAttr::getRowOffsets() const {
  SmallVector<int64_t> offsets;
  int64_t next = 0;
  for (int64_t table = 0, e = getNumTables(); table < e; ++table) {
    offsets.push_back(next);
    next += getTableRows(table);
  }
  return offsets;
}
