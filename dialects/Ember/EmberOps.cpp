//===- EmberOps.cpp - ember op verifiers, folders, canonicalization -------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/VerifierSupport.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::ember;

//===----------------------------------------------------------------------===//
// CacheWriteOp
//===----------------------------------------------------------------------===//

LogicalResult CacheWriteOp::verify() {
  MemRefType values = memrefType(getValues()), cache = memrefType(getCache());
  if (values.getRank() < 1)
    return emitOpError() << "values must have rank >= 1 ([T, ...]), got rank 0";
  if (cache.getRank() != values.getRank() + 1)
    return emitOpError() << "cache must have rank " << values.getRank() + 1
                         << " ([slots, max_context] then the values' trailing dims), got rank "
                         << cache.getRank();
  if (values.getElementType() != cache.getElementType())
    return emitOpError() << "values hold " << values.getElementType() << " but the cache holds "
                         << cache.getElementType();
  for (int64_t dim = 1; dim < values.getRank(); ++dim)
    if (failed(verifyDimsAgree(*this, getValues(), "values", dim, getCache(), "cache", dim + 1)))
      return failure();
  return verifyRowCoordinates(*this, getSlots(), "slots", getValues(), "values");
}

LogicalResult CacheWriteOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return memref::foldMemRefCast(*this);
}

void CacheWriteOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *) {
  results.add(+[](CacheWriteOp op, PatternRewriter &rewriter) {
    return eraseIfNoWork(op, rewriter, op.getValues());
  });
}

//===----------------------------------------------------------------------===//
// NgramIdsOp
//===----------------------------------------------------------------------===//

LogicalResult NgramIdsOp::verify() {
  if (failed(verifyRank(*this, getTable(), "token table", 2)) ||
      failed(verifyRank(*this, getIds(), "ids", 2)))
    return failure();
  if (failed(verifyRowCoordinates(*this, getSlots(), "slots", getIds(), "ids")))
    return failure();
  int64_t tables = getConfig().getNumTables();
  int64_t columns = getIds().getType().getDimSize(1);
  if (columns != tables)
    return emitOpError() << "ids must have E = K*(N-1) = " << tables << " columns, got "
                         << (ShapedType::isDynamic(columns) ? std::string("?")
                                                            : std::to_string(columns));
  return success();
}

LogicalResult NgramIdsOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return memref::foldMemRefCast(*this);
}

void NgramIdsOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *) {
  results.add(+[](NgramIdsOp op, PatternRewriter &rewriter) {
    return eraseIfNoWork(op, rewriter, op.getIds());
  });
}

//===----------------------------------------------------------------------===//
// MultiTableGatherOp
//===----------------------------------------------------------------------===//

LogicalResult MultiTableGatherOp::verify() {
  if (failed(verifyRank(*this, getTable(), "table", 2)) ||
      failed(verifyRank(*this, getIds(), "ids", 2)) ||
      failed(verifyRank(*this, getOut(), "rows", 3)) ||
      failed(verifyDimsAgree(*this, getOut(), "rows", 0, getIds(), "ids", 0)) ||
      failed(verifyDimsAgree(*this, getOut(), "rows", 1, getIds(), "ids", 1)) ||
      failed(verifyDimsAgree(*this, getOut(), "rows", 2, getTable(), "table", 1)))
    return failure();

  ArrayRef<int64_t> offsets = getRowOffsets();
  if (offsets.empty())
    return emitOpError() << "row_offsets must name at least one table";
  int64_t numTables = getIds().getType().getDimSize(1);
  if (ShapedType::isStatic(numTables) && numTables != static_cast<int64_t>(offsets.size()))
    return emitOpError() << "ids have " << numTables << " columns but row_offsets name "
                         << offsets.size() << " tables";
  if (offsets.front() != 0)
    return emitOpError() << "row_offsets must start at 0, got " << offsets.front();
  for (size_t i = 1; i < offsets.size(); ++i)
    if (offsets[i] <= offsets[i - 1])
      return emitOpError() << "row_offsets must be strictly increasing, but row_offsets[" << i
                           << "] = " << offsets[i] << " <= " << offsets[i - 1];
  int64_t rows = getTable().getType().getDimSize(0);
  if (ShapedType::isStatic(rows) && offsets.back() >= rows)
    return emitOpError() << "row_offsets[" << offsets.size() - 1 << "] = " << offsets.back()
                         << " is past the table's " << rows << " rows";

  NgramConfigAttr ngram = getNgramAttr();
  if (!ngram)
    return success();
  if (ngram.getNumTables() != static_cast<int64_t>(offsets.size()))
    return emitOpError() << "n-gram config has E = " << ngram.getNumTables()
                         << " tables but row_offsets name " << offsets.size();
  SmallVector<int64_t> expected = ngram.getRowOffsets();
  for (size_t i = 0; i < offsets.size(); ++i)
    if (offsets[i] != expected[i])
      return emitOpError() << "row_offsets[" << i << "] = " << offsets[i]
                           << " but n-gram table " << i << " starts at row " << expected[i]
                           << " (M_i = m + 2i + 1)";
  int64_t neededRows = ngram.getTotalRows();
  if (ShapedType::isStatic(rows) && rows != neededRows)
    return emitOpError() << "table has " << rows << " rows but the n-gram tables need sum M_i = "
                         << neededRows;
  return success();
}

LogicalResult MultiTableGatherOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return memref::foldMemRefCast(*this);
}

void MultiTableGatherOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *) {
  results.add(+[](MultiTableGatherOp op, PatternRewriter &rewriter) {
    return eraseIfNoWork(op, rewriter, op.getOut());
  });
}

//===----------------------------------------------------------------------===//
// NgramCombineOp
//===----------------------------------------------------------------------===//

LogicalResult NgramCombineOp::verify() {
  Value word = getWord(), rows = getRows(), proj = getProjections(), out = getOut();
  if (failed(verifyRank(*this, word, "word", 2)) || failed(verifyRank(*this, rows, "rows", 3)) ||
      failed(verifyRank(*this, proj, "projections", 3)) ||
      failed(verifyRank(*this, out, "out", 2)))
    return failure();
  return success(succeeded(verifyDimsAgree(*this, out, "out", 0, word, "word", 0)) &&
                 succeeded(verifyDimsAgree(*this, out, "out", 0, rows, "rows", 0)) &&
                 succeeded(verifyDimsAgree(*this, out, "out", 1, word, "word", 1)) &&
                 succeeded(verifyDimsAgree(*this, out, "out", 1, proj, "projections", 1)) &&
                 succeeded(verifyDimsAgree(*this, rows, "rows", 1, proj, "projections", 0)) &&
                 succeeded(verifyDimsAgree(*this, rows, "rows", 2, proj, "projections", 2)));
}

LogicalResult NgramCombineOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return memref::foldMemRefCast(*this);
}

void NgramCombineOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *) {
  results.add(+[](NgramCombineOp op, PatternRewriter &rewriter) {
    return eraseIfNoWork(op, rewriter, op.getOut());
  });
}

#define GET_OP_CLASSES
#include "dialects/Ember/EmberOps.cpp.inc"
