// RUN: ember-opt %s --ember-fuse-norm --split-input-file | FileCheck %s

// An attention sublayer's input norm: q_a and kv_a both read it, then q_a's
// in-place latent norm feeds q_b; the buffer is reused by a later norm that
// starts a new life. Every norm here goes; the normed buffer stays for the
// later norm's readers.
// CHECK-LABEL: func @attention_inputs
// CHECK-SAME: (%[[R:[^:]+]]: memref<2x8xf32>, %[[G:[^:]+]]: memref<8xbf16>, %[[WQ:[^:]+]]: memref<4x8xbf16>, %[[GQ:[^:]+]]: memref<4xbf16>, %[[WB:[^:]+]]: memref<6x4xbf16>, %[[WKV:[^:]+]]: memref<3x8xbf16>, %[[WO:[^:]+]]: memref<8x6xbf16>, %[[G2:[^:]+]]: memref<8xbf16>, %[[W2:[^:]+]]: memref<5x8xbf16>, %{{[^:]+}}: memref<2x5xf32>)
func.func @attention_inputs(%r: memref<2x8xf32>, %g: memref<8xbf16>, %wq: memref<4x8xbf16>, %gq: memref<4xbf16>,
                            %wb: memref<6x4xbf16>, %wkv: memref<3x8xbf16>, %wo: memref<8x6xbf16>,
                            %g2: memref<8xbf16>, %w2: memref<5x8xbf16>, %out: memref<2x5xf32>) {
  // CHECK-NOT: ember.rms_norm
  // CHECK: %[[QA:[^ ]+]] = memref.alloc() : memref<2x4xf32>
  // CHECK-NEXT: ember.norm_linear %[[R]], %[[G]], %[[WQ]] into %[[QA]] {eps = 9.99999997E-7 : f32}
  // CHECK-NEXT: %[[Q:[^ ]+]] = memref.alloc() : memref<2x6xf32>
  // CHECK-NEXT: ember.norm_linear %[[QA]], %[[GQ]], %[[WB]] into %[[Q]] {eps = 9.99999997E-7 : f32, scale = 1.500000e+00 : f32}
  // CHECK-NEXT: %[[KV:[^ ]+]] = memref.alloc() : memref<2x3xf32>
  // CHECK-NEXT: ember.norm_linear %[[R]], %[[G]], %[[WKV]] into %[[KV]] {eps = 9.99999997E-7 : f32}
  // CHECK-NEXT: ember.linear %[[Q]], %[[WO]] into %[[R]] {accumulate}
  // CHECK-NEXT: %[[O:[^ ]+]] = memref.alloc() : memref<2x5xf32>
  // CHECK-NEXT: ember.norm_linear %[[R]], %[[G2]], %[[W2]] into %[[O]] {eps = 9.99999997E-7 : f32}
  // CHECK-NOT: memref.dealloc {{.*}} : memref<2x8xf32>
  // CHECK: return
  %normed = memref.alloc() : memref<2x8xf32>
  ember.rms_norm %r, %g into %normed {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xbf16> into memref<2x8xf32>
  %qa = memref.alloc() : memref<2x4xf32>
  ember.linear %normed, %wq into %qa : memref<2x8xf32>, memref<4x8xbf16> into memref<2x4xf32>
  ember.rms_norm %qa, %gq into %qa {eps = 1.0e-6 : f32, scale = 1.5 : f32} : memref<2x4xf32>, memref<4xbf16> into memref<2x4xf32>
  %q = memref.alloc() : memref<2x6xf32>
  ember.linear %qa, %wb into %q : memref<2x4xf32>, memref<6x4xbf16> into memref<2x6xf32>
  %kv = memref.alloc() : memref<2x3xf32>
  ember.linear %normed, %wkv into %kv : memref<2x8xf32>, memref<3x8xbf16> into memref<2x3xf32>
  ember.linear %q, %wo into %r {accumulate} : memref<2x6xf32>, memref<8x6xbf16> into memref<2x8xf32>
  ember.rms_norm %r, %g2 into %normed {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xbf16> into memref<2x8xf32>
  %o = memref.alloc() : memref<2x5xf32>
  ember.linear %normed, %w2 into %o : memref<2x8xf32>, memref<5x8xbf16> into memref<2x5xf32>
  memref.dealloc %normed : memref<2x8xf32>
  memref.copy %o, %out : memref<2x5xf32> to memref<2x5xf32>
  return
}

// -----

// The MLP's norm read by a fused swiglu; its down projection then adds
// into x, after the last reader.
// CHECK-LABEL: func @swiglu
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x8xf32>, %[[G:[^:]+]]: memref<8xf32>, %[[WG:[^:]+]]: memref<16x8xbf16>, %[[WU:[^:]+]]: memref<16x8xbf16>, %[[WD:[^:]+]]: memref<8x16xbf16>)
// CHECK: %[[H:[^ ]+]] = memref.alloc(%{{.*}}) : memref<?x16xf32>
// CHECK-NEXT: ember.norm_swiglu %[[X]], %[[G]], %[[WG]], %[[WU]] into %[[H]] {eps = 9.99999974E-6 : f32}
// CHECK-NEXT: ember.linear %[[H]], %[[WD]] into %[[X]] {accumulate}
// CHECK-NOT: memref.dealloc {{.*}} : memref<?x8xf32>
// CHECK: return
func.func @swiglu(%x: memref<?x8xf32>, %g: memref<8xf32>, %wg: memref<16x8xbf16>, %wu: memref<16x8xbf16>, %wd: memref<8x16xbf16>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  %normed = memref.alloc(%t) : memref<?x8xf32>
  ember.rms_norm %x, %g into %normed {eps = 1.0e-5 : f32} : memref<?x8xf32>, memref<8xf32> into memref<?x8xf32>
  %h = memref.alloc(%t) : memref<?x16xf32>
  ember.swiglu %normed, %wg, %wu into %h : memref<?x8xf32>, memref<16x8xbf16>, memref<16x8xbf16> into memref<?x16xf32>
  ember.linear %h, %wd into %x {accumulate} : memref<?x16xf32>, memref<8x16xbf16> into memref<?x8xf32>
  memref.dealloc %normed : memref<?x8xf32>
  memref.dealloc %h : memref<?x16xf32>
  return
}

// -----

// Fused: the reader's output is another argument, which by the fusions'
// alias policy is not x (ember functions never get overlapping memory
// through two arguments).
// CHECK-LABEL: func @output_argument
// CHECK-NOT: ember.rms_norm
// CHECK: ember.norm_swiglu
func.func @output_argument(%x: memref<?x8xf32>, %g: memref<8xf32>, %wg: memref<16x8xbf16>, %wu: memref<16x8xbf16>, %h: memref<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  %normed = memref.alloc(%t) : memref<?x8xf32>
  ember.rms_norm %x, %g into %normed {eps = 1.0e-5 : f32} : memref<?x8xf32>, memref<8xf32> into memref<?x8xf32>
  ember.swiglu %normed, %wg, %wu into %h : memref<?x8xf32>, memref<16x8xbf16>, memref<16x8xbf16> into memref<?x16xf32>
  memref.dealloc %normed : memref<?x8xf32>
  return
}

// -----

// Not fused: moe_combine reads the norm's output too (the MoE input u).
// CHECK-LABEL: func @other_reader
// CHECK: ember.rms_norm
// CHECK-NEXT: ember.linear
// CHECK-NOT: ember.norm_linear
func.func @other_reader(%r: memref<2x8xf32>, %g: memref<8xf32>, %w: memref<4x8xf32>,
                        %y: memref<6x8xf32>, %experts: memref<2x3xi32>, %weights: memref<2x3xf32>) {
  %logits = memref.alloc() : memref<2x4xf32>
  %u = memref.alloc() : memref<2x8xf32>
  ember.rms_norm %r, %g into %u {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32>
  ember.linear %u, %w into %logits : memref<2x8xf32>, memref<4x8xf32> into memref<2x4xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 8 : i64} : memref<2x8xf32>, memref<6x8xf32>, memref<2x3xi32>, memref<2x3xf32> into memref<2x8xf32>
  memref.dealloc %u : memref<2x8xf32>
  return
}

// -----

// Not fused: the residual stream is written between the norm and its
// second reader, which would then see the new values.
// CHECK-LABEL: func @input_written_between
// CHECK: ember.rms_norm
// CHECK-NOT: ember.norm_linear
func.func @input_written_between(%r: memref<2x8xf32>, %g: memref<8xf32>, %w: memref<4x8xf32>, %wo: memref<8x4xf32>) {
  %a = memref.alloc() : memref<2x4xf32>
  %b = memref.alloc() : memref<2x4xf32>
  %normed = memref.alloc() : memref<2x8xf32>
  ember.rms_norm %r, %g into %normed {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32>
  ember.linear %normed, %w into %a : memref<2x8xf32>, memref<4x8xf32> into memref<2x4xf32>
  ember.linear %a, %wo into %r {accumulate} : memref<2x4xf32>, memref<8x4xf32> into memref<2x8xf32>
  ember.linear %normed, %w into %b : memref<2x8xf32>, memref<4x8xf32> into memref<2x4xf32>
  memref.dealloc %normed : memref<2x8xf32>
  memref.dealloc %a : memref<2x4xf32>
  memref.dealloc %b : memref<2x4xf32>
  return
}

// -----

// Fused: a write through a view of another argument is not a write of x.
// CHECK-LABEL: func @other_argument_written
// CHECK-NOT: ember.rms_norm {{.*}} into memref<2x8xf32>{{$}}
// CHECK: ember.rms_norm {{.*}} into memref<2x8xf32, strided<[8, 1]>>
// CHECK-NEXT: ember.norm_linear
// CHECK-NOT: ember.rms_norm
func.func @other_argument_written(%r: memref<2x8xf32>, %other: memref<4x8xf32>, %g: memref<8xf32>, %w: memref<4x8xf32>) {
  %a = memref.alloc() : memref<2x4xf32>
  %normed = memref.alloc() : memref<2x8xf32>
  ember.rms_norm %r, %g into %normed {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32>
  %view = memref.subview %other[0, 0] [2, 8] [1, 1] : memref<4x8xf32> to memref<2x8xf32, strided<[8, 1]>>
  ember.rms_norm %r, %g into %view {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32, strided<[8, 1]>>
  ember.linear %normed, %w into %a : memref<2x8xf32>, memref<4x8xf32> into memref<2x4xf32>
  memref.dealloc %normed : memref<2x8xf32>
  memref.dealloc %a : memref<2x4xf32>
  return
}

// -----

// Not fused: a write through a view of x itself.
// CHECK-LABEL: func @input_view_written
// CHECK: ember.rms_norm
// CHECK-NOT: ember.norm_linear
func.func @input_view_written(%r: memref<4x8xf32>, %g: memref<8xf32>, %w: memref<4x8xf32>, %v: memref<2x8xf32>) {
  %a = memref.alloc() : memref<4x4xf32>
  %normed = memref.alloc() : memref<4x8xf32>
  ember.rms_norm %r, %g into %normed {eps = 1.0e-6 : f32} : memref<4x8xf32>, memref<8xf32> into memref<4x8xf32>
  %view = memref.subview %r[2, 0] [2, 8] [1, 1] : memref<4x8xf32> to memref<2x8xf32, strided<[8, 1], offset: 16>>
  memref.copy %v, %view : memref<2x8xf32> to memref<2x8xf32, strided<[8, 1], offset: 16>>
  ember.linear %normed, %w into %a : memref<4x8xf32>, memref<4x8xf32> into memref<4x4xf32>
  memref.dealloc %normed : memref<4x8xf32>
  memref.dealloc %a : memref<4x4xf32>
  return
}

// -----

// Not fused: the output is a view (the KV cache's latent rows), a function
// argument, or read through a view.
// CHECK-LABEL: func @not_a_scratch_buffer
// CHECK-COUNT-3: ember.rms_norm
// CHECK-NOT: ember.norm_linear
func.func @not_a_scratch_buffer(%x: memref<2x8xf32>, %g: memref<8xf32>, %w: memref<4x8xf32>, %cache: memref<16x8xf32>,
                                %y: memref<2x8xf32>, %a: memref<2x4xf32>, %b: memref<1x4xf32>) {
  %rows = memref.subview %cache[3, 0] [2, 8] [1, 1] : memref<16x8xf32> to memref<2x8xf32, strided<[8, 1], offset: 24>>
  ember.rms_norm %x, %g into %rows {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32, strided<[8, 1], offset: 24>>
  ember.rms_norm %x, %g into %y {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32>
  ember.linear %y, %w into %a : memref<2x8xf32>, memref<4x8xf32> into memref<2x4xf32>
  %normed = memref.alloc() : memref<2x8xf32>
  ember.rms_norm %x, %g into %normed {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32>
  %first = memref.subview %normed[0, 0] [1, 8] [1, 1] : memref<2x8xf32> to memref<1x8xf32, strided<[8, 1]>>
  ember.linear %first, %w into %b : memref<1x8xf32, strided<[8, 1]>>, memref<4x8xf32> into memref<1x4xf32>
  memref.dealloc %normed : memref<2x8xf32>
  return
}

// -----

// Not fused: the reader writes into the norm's input while its threads
// read it.
// CHECK-LABEL: func @reader_writes_input
// CHECK: ember.rms_norm
// CHECK-NOT: ember.norm_linear
func.func @reader_writes_input(%r: memref<2x8xf32>, %g: memref<8xf32>, %w: memref<8x8xf32>) {
  %normed = memref.alloc() : memref<2x8xf32>
  ember.rms_norm %r, %g into %normed {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32>
  ember.linear %normed, %w into %r {accumulate} : memref<2x8xf32>, memref<8x8xf32> into memref<2x8xf32>
  memref.dealloc %normed : memref<2x8xf32>
  return
}

// -----

// Not fused: x is freed before the reader, which would then read it.
// CHECK-LABEL: func @input_freed_between
// CHECK: ember.rms_norm
// CHECK-NOT: ember.norm_linear
func.func @input_freed_between(%g: memref<8xf32>, %w: memref<4x8xf32>, %out: memref<2x4xf32>) {
  %x = memref.alloc() : memref<2x8xf32>
  %a = memref.alloc() : memref<2x4xf32>
  %normed = memref.alloc() : memref<2x8xf32>
  ember.rms_norm %x, %g into %normed {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32>
  memref.dealloc %x : memref<2x8xf32>
  ember.linear %normed, %w into %a : memref<2x8xf32>, memref<4x8xf32> into memref<2x4xf32>
  memref.copy %a, %out : memref<2x4xf32> to memref<2x4xf32>
  memref.dealloc %normed : memref<2x8xf32>
  memref.dealloc %a : memref<2x4xf32>
  return
}

// -----

// An FP8 linear's block scales go with its weight into the norm_linear.
// CHECK-LABEL: func @fp8_weight
// CHECK-SAME: (%[[R:[^:]+]]: memref<2x8xf32>, %[[G:[^:]+]]: memref<8xbf16>, %[[W:[^:]+]]: memref<4x8xf8E4M3FN>, %[[S:[^:]+]]: memref<1x1xf32>, %[[Y:[^:]+]]: memref<2x4xf32>)
func.func @fp8_weight(%r: memref<2x8xf32>, %g: memref<8xbf16>, %w: memref<4x8xf8E4M3FN>, %s: memref<1x1xf32>, %y: memref<2x4xf32>) {
  // CHECK-NOT: ember.rms_norm
  // CHECK: ember.norm_linear %[[R]], %[[G]], %[[W]] scaled %[[S]] into %[[Y]] {eps = 9.99999997E-7 : f32, weight_block = array<i64: 128, 128>}
  %normed = memref.alloc() : memref<2x8xf32>
  ember.rms_norm %r, %g into %normed {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xbf16> into memref<2x8xf32>
  ember.linear %normed, %w scaled %s into %y {weight_block = array<i64: 128, 128>} : memref<2x8xf32>, memref<4x8xf8E4M3FN> scaled memref<1x1xf32> into memref<2x4xf32>
  memref.dealloc %normed : memref<2x8xf32>
  return
}

// -----

// An FP8 swiglu's block scales go into the norm_swiglu.
// CHECK-LABEL: func @fp8_swiglu
// CHECK-SAME: (%[[R:[^:]+]]: memref<2x8xf32>, %[[G:[^:]+]]: memref<8xbf16>, %[[WG:[^:]+]]: memref<4x8xf8E4M3FN>, %[[WU:[^:]+]]: memref<4x8xf8E4M3FN>, %[[SG:[^:]+]]: memref<1x1xf32>, %[[SU:[^:]+]]: memref<1x1xf32>, %[[H:[^:]+]]: memref<2x4xf32>)
func.func @fp8_swiglu(%r: memref<2x8xf32>, %g: memref<8xbf16>, %wg: memref<4x8xf8E4M3FN>, %wu: memref<4x8xf8E4M3FN>,
                      %sg: memref<1x1xf32>, %su: memref<1x1xf32>, %h: memref<2x4xf32>) {
  // CHECK-NOT: ember.rms_norm
  // CHECK: ember.norm_swiglu %[[R]], %[[G]], %[[WG]], %[[WU]] scaled %[[SG]], %[[SU]] into %[[H]] {eps = 9.99999997E-7 : f32, weight_block = array<i64: 128, 128>}
  %normed = memref.alloc() : memref<2x8xf32>
  ember.rms_norm %r, %g into %normed {eps = 1.0e-6 : f32} : memref<2x8xf32>, memref<8xbf16> into memref<2x8xf32>
  ember.swiglu %normed, %wg, %wu scaled %sg, %su into %h {weight_block = array<i64: 128, 128>}
      : memref<2x8xf32>, memref<4x8xf8E4M3FN>, memref<4x8xf8E4M3FN> scaled memref<1x1xf32>, memref<1x1xf32> into memref<2x4xf32>
  memref.dealloc %normed : memref<2x8xf32>
  return
}
