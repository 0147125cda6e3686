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
#include "lowering/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::ember {

/// Reads the token x_t at table[slot, position] and its N-1 history tokens
/// (EOS-segment rule) and evaluates the E hashes of docs/design.md §2 with
/// constant multipliers, in 64-bit: its E table-local ids (i32).
SmallVector<Value> buildNgramHashes(OpBuilder &b, Location loc, NgramConfigAttr config, Value table,
                             Value slot, Value position);

/// How a gather checks the ids of one table (ember-lower-to-loops'
/// bounds-check): `limit` is the table's last row for Clamp, its row count
/// for Fatal. The default checks nothing.
struct GatherCheck {
  GatherBoundsCheck mode = GatherBoundsCheck::None;
  Value limit;
  int64_t table = 0; // named in the Fatal message
};

/// The check of table `index` of the tables concatenated in `table` at row
/// `offsets` (the last one ends at R), built where `b` is: outside the loops.
GatherCheck buildGatherCheck(OpBuilder &b, Location loc, GatherBoundsCheck mode, Value table,
                             ArrayRef<int64_t> offsets, int64_t index);

/// f32(table[rowOffset + id, column]) for an i32 id read as unsigned, the id
/// first clamped or asserted in range as `check` says: the one element read
/// of every embedding gather.
Value buildGatherLoad(OpBuilder &b, Location loc, Value table, Value id, int64_t rowOffset,
                      Value column, const GatherCheck &check = {});

} // namespace mlir::ember

#endif // EMBER_LOWERING_NGRAMLOOPS_H
