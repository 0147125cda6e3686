// RUN: ember-opt %s | FileCheck %s
// RUN: ember-opt %s | ember-opt | FileCheck %s
// RUN: ember-opt --mlir-print-op-generic %s | ember-opt | FileCheck %s

// CHECK-LABEL: func @dense
// CHECK-SAME: (%[[X:.*]]: memref<?x96xf32>, %[[W:.*]]: memref<48x96xbf16>, %[[Y:.*]]: memref<?x48xf32>, %[[N:.*]]: memref<48xf32>)
func.func @dense(%x: memref<?x96xf32>, %w: memref<48x96xbf16>, %y: memref<?x48xf32>, %n: memref<48xf32>) {
  // CHECK: ember.linear %[[X]], %[[W]] into %[[Y]] : memref<?x96xf32>, memref<48x96xbf16> into memref<?x48xf32>
  ember.linear %x, %w into %y : memref<?x96xf32>, memref<48x96xbf16> into memref<?x48xf32>
  // CHECK: ember.linear %[[X]], %[[W]] into %[[Y]] {accumulate}
  ember.linear %x, %w into %y {accumulate} : memref<?x96xf32>, memref<48x96xbf16> into memref<?x48xf32>
  // CHECK: ember.rms_norm %[[Y]], %[[N]] into %[[Y]] {eps = 9.99999997E-7 : f32, scale = 2.000000e+00 : f32}
  ember.rms_norm %y, %n into %y {eps = 1.0e-6 : f32, scale = 2.0 : f32} : memref<?x48xf32>, memref<48xf32> into memref<?x48xf32>
  // CHECK: ember.rms_norm %[[Y]], %[[N]] into %[[Y]] {eps = 9.99999974E-6 : f32} :
  ember.rms_norm %y, %n into %y {eps = 1.0e-5 : f32} : memref<?x48xf32>, memref<48xf32> into memref<?x48xf32>
  // CHECK: ember.silu_mul %[[Y]], %[[Y]] into %[[Y]] : memref<?x48xf32>, memref<?x48xf32> into memref<?x48xf32>
  ember.silu_mul %y, %y into %y : memref<?x48xf32>, memref<?x48xf32> into memref<?x48xf32>
  return
}

// An F8E4M3FN weight with its block scales: [48, 96] in blocks of 32 x 64.
// CHECK-LABEL: func @fp8_linear
// CHECK-SAME: (%[[X:.*]]: memref<?x96xf32>, %[[W:.*]]: memref<48x96xf8E4M3FN>, %[[S:.*]]: memref<2x2xf32>, %[[Y:.*]]: memref<?x48xf32>)
func.func @fp8_linear(%x: memref<?x96xf32>, %w: memref<48x96xf8E4M3FN>, %s: memref<2x2xf32>, %y: memref<?x48xf32>) {
  // CHECK: ember.linear %[[X]], %[[W]] scaled %[[S]] into %[[Y]] {accumulate, weight_block = array<i64: 32, 64>} : memref<?x96xf32>, memref<48x96xf8E4M3FN> scaled memref<2x2xf32> into memref<?x48xf32>
  ember.linear %x, %w scaled %s into %y {accumulate, weight_block = array<i64: 32, 64>}
      : memref<?x96xf32>, memref<48x96xf8E4M3FN> scaled memref<2x2xf32> into memref<?x48xf32>
  return
}

// CHECK-LABEL: func @fp8_kv_b
func.func @fp8_kv_b(%qn: memref<?x4x16xf32>, %kvb: memref<128x32xf8E4M3FN>, %s: memref<1x1xf32>, %ql: memref<?x4x32xf32>, %o: memref<?x4x16xf32>) {
  // CHECK: ember.mla_absorb %{{.*}}, %{{.*}} scaled %{{.*}} into %{{.*}} {weight_block = array<i64: 128, 128>} : memref<?x4x16xf32>, memref<128x32xf8E4M3FN> scaled memref<1x1xf32> into memref<?x4x32xf32>
  ember.mla_absorb %qn, %kvb scaled %s into %ql {weight_block = array<i64: 128, 128>} : memref<?x4x16xf32>, memref<128x32xf8E4M3FN> scaled memref<1x1xf32> into memref<?x4x32xf32>
  // CHECK: ember.mla_up_v %{{.*}}, %{{.*}} scaled %{{.*}} into %{{.*}} {weight_block = array<i64: 128, 128>} : memref<?x4x32xf32>, memref<128x32xf8E4M3FN> scaled memref<1x1xf32> into memref<?x4x16xf32>
  ember.mla_up_v %ql, %kvb scaled %s into %o {weight_block = array<i64: 128, 128>} : memref<?x4x32xf32>, memref<128x32xf8E4M3FN> scaled memref<1x1xf32> into memref<?x4x16xf32>
  return
}

// CHECK-LABEL: func @attention
func.func @attention(%qn: memref<?x4x16xf32>, %kvb: memref<128x32xbf16>, %ql: memref<?x4x32xf32>,
                     %qr: memref<?x4x8xf32, strided<[96, 24, 1], offset: 16>>,
                     %cache: memref<2x64x40xf32, strided<[?, 40, 1], offset: ?>>,
                     %slots: memref<?xi32>, %positions: memref<?xi32>, %ol: memref<?x4x32xf32>, %o: memref<?x4x16xf32>) {
  // CHECK: ember.rope %{{.*}}, %{{.*}} into %{{.*}} {inv_freq = array<f32: 1.000000e+00, 1.000000e-01, 0.00999999977, 1.000000e-03>, scale = 1.500000e+00 : f32}
  ember.rope %qr, %positions into %qr {inv_freq = array<f32: 1.0, 0.1, 0.01, 0.001>, scale = 1.5 : f32}
      : memref<?x4x8xf32, strided<[96, 24, 1], offset: 16>>, memref<?xi32> into memref<?x4x8xf32, strided<[96, 24, 1], offset: 16>>
  // CHECK: ember.mla_absorb %{{.*}}, %{{.*}} into %{{.*}} : memref<?x4x16xf32>, memref<128x32xbf16> into memref<?x4x32xf32>
  ember.mla_absorb %qn, %kvb into %ql : memref<?x4x16xf32>, memref<128x32xbf16> into memref<?x4x32xf32>
  // CHECK: ember.mla_attention %{{.*}}, %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] into %{{.*}} {scale = 2.500000e-01 : f32}
  ember.mla_attention %ql, %qr, %cache[%slots, %positions] into %ol {scale = 0.25 : f32}
      : memref<?x4x32xf32>, memref<?x4x8xf32, strided<[96, 24, 1], offset: 16>>, memref<?xi32>,
        memref<2x64x40xf32, strided<[?, 40, 1], offset: ?>> into memref<?x4x32xf32>
  // CHECK: ember.mla_up_v %{{.*}}, %{{.*}} into %{{.*}} : memref<?x4x32xf32>, memref<128x32xbf16> into memref<?x4x16xf32>
  ember.mla_up_v %ol, %kvb into %o : memref<?x4x32xf32>, memref<128x32xbf16> into memref<?x4x16xf32>
  return
}
