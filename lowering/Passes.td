//===- Passes.td - ember lowering passes -------------------*- tablegen -*-===//
#ifndef EMBER_LOWERING_PASSES_TD
#define EMBER_LOWERING_PASSES_TD

include "mlir/Pass/PassBase.td"

def EmberLowerToLoops : Pass<"ember-lower-to-loops"> {
  let summary = "Lower ember ops to scf.parallel loop nests on memrefs";
  let description = [{
    The one loop IR that feeds both targets: each ember op becomes one
    `scf.parallel` nest whose body does a single output element (or a row
    segment), so the CPU pipeline runs it sequentially and the GPU pipeline
    maps it to blocks and threads. Small static extents (tables, n-gram
    order) are unrolled; hash constants V^j mod M_i are folded in.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def EmberTileForGpu : Pass<"ember-tile-for-gpu"> {
  let summary = "Tile outermost scf.parallel loops into blocks of threads";
  let description = [{
    Tiles the innermost dimension of every outermost `scf.parallel` by
    `block-size` (other dimensions by 1) without min/max bounds, which is the
    form `gpu-map-parallel-loops` + `convert-parallel-loops-to-gpu` accept:
    the outer loop becomes the grid and the inner loop a thread block.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Threads per block along the innermost parallel dimension">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

#endif // EMBER_LOWERING_PASSES_TD
