// RUN: ember-opt %s | ember-opt | FileCheck %s
// Round trip of the ops the fusion passes create.

// CHECK-LABEL: func @swiglu
func.func @swiglu(%x: memref<?x96xf32>, %g: memref<192x96xbf16>, %u: memref<192x96xbf16>, %h: memref<?x192xf32>) {
  // CHECK: ember.swiglu %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} : memref<?x96xf32>, memref<192x96xbf16>, memref<192x96xbf16> into memref<?x192xf32>
  ember.swiglu %x, %g, %u into %h : memref<?x96xf32>, memref<192x96xbf16>, memref<192x96xbf16> into memref<?x192xf32>
  return
}
