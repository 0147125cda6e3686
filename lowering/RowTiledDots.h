//===- RowTiledDots.h - register-blocked dot products (CPU) ------*- C++ -*-===//
//
// The CPU's kernel for matmul-class ops (linear, swiglu, norm_linear,
// norm_swiglu): explicit SIMD along the contiguous input dimension, with the
// rows of a call in tiles that share every weight vector loaded, so a batched
// step converts and loads each weight element once per tile of rows instead
// of once per row.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_ROWTILEDDOTS_H
#define EMBER_LOWERING_ROWTILEDDOTS_H

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
/// them: f32 rows of `x`, every operand's rows contiguous.
bool useRowTiledDots(const MatmulLoops &loops, Value x, ValueRange weights);

/// For every output unit o (an scf.parallel) and every row t of `x`
/// ([T, K], f32): the dot products of x[t] with row o of each of `weights`
/// ([O, K], any float type), passed to emit(t, o, sums). Rows go in tiles
/// that share each loaded weight vector. A row's sum is the same sequence
/// of operations in any tile: `lanes`-wide multiply-adds in k order (fused
/// where the CPU has FMA: vector.fma becomes llvm.fmuladd),
/// then the tail k % lanes elements in order, then the lanes added in
/// order to that. So a row's result never depends on the other rows of the
/// call (a batched step equals each sequence alone, bit for bit).
void buildRowTiledDots(OpBuilder &b, Location loc, Value x, ValueRange weights, Value outputs, int64_t lanes,
                       function_ref<void(OpBuilder &, Location, Value, Value, ValueRange)> emit);

} // namespace mlir::ember

#endif // EMBER_LOWERING_ROWTILEDDOTS_H
