//===- RowTiledDots.h - register-blocked dot products (CPU) ------*- C++ -*-===//
//
// The CPU's kernel for matmul-class ops (linear, swiglu, norm_linear,
// norm_swiglu): explicit SIMD along the contiguous input dimension, with the
// rows of a call in tiles that share every weight vector loaded, so a batched
// step converts and loads each weight element once per tile of rows instead
// of once per row. The same dots, one input row at a time, serve the routed
// experts, MLA's value projection and the router's logits.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_ROWTILEDDOTS_H
#define EMBER_LOWERING_ROWTILEDDOTS_H

#include "lowering/BlockScaledWeights.h"
#include "lowering/LoopBuilders.h"

namespace mlir::ember {

/// How the loops of matmul-class ops run. outputMajor: the output units
/// outside the tokens (buildRowsByOutputsNest). vectorLanes > 0 (the CPU):
/// buildRowTiledDots with that many f32 lanes, where every operand's rows
/// are contiguous.
struct MatmulLoops {
  bool outputMajor = false;
  int64_t vectorLanes = 0;
};

/// Whether the innermost dimension of `memref` has static stride 1, so a
/// vector load can read along it.
bool hasContiguousRows(Value memref);

/// Whether `loops` asks for row-tiled vector dots and the operands allow
/// them: f32 rows of `x`, every operand's rows contiguous, each weight's
/// block scales (if any) shared by a vector's lanes.
bool useRowTiledDots(const MatmulLoops &loops, Value x, ValueRange weights, ArrayRef<BlockScales> scales = {});

/// Row `prefix` of `memref`: the elements memref[prefix..., k], contiguous in
/// k; a weight's with its block scales, if it has them.
struct MemRefRow {
  Value memref;
  SmallVector<Value, 3> prefix;
  BlockScales scales = {};
};

/// The dot products over k in [0, width) of every f32 input row with every
/// weight row (any float type), row-major: sums[i * weights.size() + j].
/// `lanes`-wide multiply-adds in k order (fused where the CPU has FMA:
/// vector.fma becomes llvm.fmuladd), then the tail width % lanes elements in
/// order, then the lanes added in order to that. So an input row's sums are
/// the same operations whatever the other input rows are (a batched step
/// equals each sequence alone, bit for bit).
SmallVector<Value> buildTiledDots(OpBuilder &b, Location loc, ArrayRef<MemRefRow> inputs, ArrayRef<MemRefRow> weights,
                                  Value width, int64_t lanes);

/// For every output unit o (an scf.parallel) and every row t of `x`
/// ([T, K], f32): the dot products of x[t] with row o of each of `weights`
/// ([O, K], any float type; `scales` per weight, or empty), passed to
/// emit(t, o, sums). Rows go in tiles
/// that share each loaded weight vector; a row's sums are the same
/// operations in any tile (buildTiledDots), so they never depend on the
/// other rows of the call.
void buildRowTiledDots(OpBuilder &b, Location loc, Value x, ValueRange weights, Value outputs, int64_t lanes,
                       function_ref<void(OpBuilder &, Location, Value, Value, ValueRange)> emit,
                       ArrayRef<BlockScales> scales = {});

} // namespace mlir::ember

#endif // EMBER_LOWERING_ROWTILEDDOTS_H
