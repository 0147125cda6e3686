//===- NgramLoops.h - n-gram loop bodies shared by two lowerings -*- C++ -*-===//
//
// The hash and the gathered-row read, built by the unfused lowerings
// (LowerNgramOps.cpp: ngram_ids, multi_table_gather) and by the fused
// ngram_embed (LowerFusedOps.cpp), so both compute the same thing.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_NGRAMLOOPS_H
#define EMBER_LOWERING_NGRAMLOOPS_H

#include "dialects/Ember/EmberDialect.h"

#include "mlir/IR/Builders.h"

namespace mlir::ember {

/// The token x_t at table[slot, position] and its E table-local ids (i32).
struct NgramHashes {
  Value token;
  SmallVector<Value> ids;
};

/// Reads x_t and its N-1 history tokens (EOS-segment rule) and evaluates the
/// E hashes of DESIGN.md 1.2 with constant multipliers, in 64-bit.
NgramHashes buildNgramHashes(OpBuilder &b, Location loc, NgramConfigAttr config, Value table,
                             Value slot, Value position);

/// f32(table[rowOffset + id, column]) for an i32 id read as unsigned: the
/// one element read of every embedding gather.
Value buildGatherLoad(OpBuilder &b, Location loc, Value table, Value id, int64_t rowOffset,
                      Value column);

} // namespace mlir::ember

#endif // EMBER_LOWERING_NGRAMLOOPS_H
