// RUN: ember-opt %s -split-input-file -verify-diagnostics

func.func @swiglu_rank(%x: memref<96xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{x must have rank 2, got rank 1}}
  ember.swiglu %x, %g, %u into %h : memref<96xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x192xf32>
  return
}

// -----
func.func @swiglu_weights(%x: memref<?x96xf32>, %g: memref<192x96xf32>, %u: memref<128x96xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{up_weight dim 0 (128) must equal gate_weight dim 0 (192)}}
  ember.swiglu %x, %g, %u into %h : memref<?x96xf32>, memref<192x96xf32>, memref<128x96xf32> into memref<?x192xf32>
  return
}

// -----
func.func @swiglu_inner(%x: memref<?x64xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{x dim 1 (64) must equal gate_weight dim 1 (96)}}
  ember.swiglu %x, %g, %u into %h : memref<?x64xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x192xf32>
  return
}

// -----
func.func @swiglu_tokens(%x: memref<3x96xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<4x192xf32>) {
  // expected-error @+1 {{out dim 0 (4) must equal x dim 0 (3)}}
  ember.swiglu %x, %g, %u into %h : memref<3x96xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<4x192xf32>
  return
}

// -----
func.func @swiglu_hidden(%x: memref<?x96xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x100xf32>) {
  // expected-error @+1 {{out dim 1 (100) must equal gate_weight dim 0 (192)}}
  ember.swiglu %x, %g, %u into %h : memref<?x96xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x100xf32>
  return
}
