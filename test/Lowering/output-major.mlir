// RUN: ember-opt %s --ember-lower-to-loops=output-major=true --canonicalize --cse | FileCheck %s --check-prefix=OUTPUTS
// RUN: ember-opt %s --ember-lower-to-loops --canonicalize --cse | FileCheck %s --check-prefix=TOKENS

// output-major (the CPU pipeline) puts the output units outside the tokens:
// a weight row is read for all tokens while it is in cache. The default
// (the GPU's loops) keeps the tokens outside. Each element is the same dot
// product either way.
// OUTPUTS-LABEL: func @linear
// OUTPUTS-SAME: (%[[X:[^:]+]]: memref<?x8xf32>, %[[W:[^:]+]]: memref<4x8xbf16>, %[[Y:[^:]+]]: memref<?x4xf32>)
// OUTPUTS: scf.parallel (%[[O:[^ ]+]], %[[T:[^ ]+]]) = (%{{[^ ]+}}, %{{[^ ]+}}) to (%{{[^ ]+}}, %{{[^ ]+}})
// OUTPUTS:   scf.for %[[I:[^ ]+]] =
// OUTPUTS-DAG:     memref.load %[[X]][%[[T]], %[[I]]]
// OUTPUTS-DAG:     memref.load %[[W]][%[[O]], %[[I]]]
// OUTPUTS:   memref.store %{{.*}}, %[[Y]][%[[T]], %[[O]]]
// TOKENS-LABEL: func @linear
// TOKENS-SAME: (%[[X:[^:]+]]: memref<?x8xf32>, %[[W:[^:]+]]: memref<4x8xbf16>, %[[Y:[^:]+]]: memref<?x4xf32>)
// TOKENS: scf.parallel (%[[T:[^ ]+]], %[[O:[^ ]+]]) =
// TOKENS:   memref.store %{{.*}}, %[[Y]][%[[T]], %[[O]]]
func.func @linear(%x: memref<?x8xf32>, %w: memref<4x8xbf16>, %y: memref<?x4xf32>) {
  ember.linear %x, %w into %y : memref<?x8xf32>, memref<4x8xbf16> into memref<?x4xf32>
  return
}

// OUTPUTS-LABEL: func @swiglu
// OUTPUTS: scf.parallel (%[[F:[^ ]+]], %[[T:[^ ]+]]) =
// OUTPUTS:   memref.store %{{.*}}, %{{[^ ]+}}[%[[T]], %[[F]]]
// TOKENS-LABEL: func @swiglu
// TOKENS: scf.parallel (%[[T:[^ ]+]], %[[F:[^ ]+]]) =
// TOKENS:   memref.store %{{.*}}, %{{[^ ]+}}[%[[T]], %[[F]]]
func.func @swiglu(%x: memref<?x8xf32>, %g: memref<6x8xbf16>, %u: memref<6x8xbf16>, %h: memref<?x6xf32>) {
  ember.swiglu %x, %g, %u into %h : memref<?x8xf32>, memref<6x8xbf16>, memref<6x8xbf16> into memref<?x6xf32>
  return
}
