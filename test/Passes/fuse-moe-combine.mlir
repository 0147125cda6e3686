// RUN: ember-opt %s --ember-fuse-moe-combine --split-input-file | FileCheck %s

// The MoE block as the decoder builds it: the combine comes later in the
// layer, after ops that read u and write the residual stream. The dispatch
// becomes moe_group into new order and h buffers with room for the groups
// padded to 4 rows, T*k + min(T*k, R = 4) * 3, plus the rows and counts
// buffers (all four freed after the fused op); expert_gate_up takes the
// padded buffers; expert_down and moe_combine become expert_down_combine at
// the combine's place, and the [T*k, D] expert outputs and the old order
// and h buffers go away.
// RUN: ember-opt %s --ember-fuse-moe-combine=rows-per-tile=1 --split-input-file | FileCheck %s --check-prefix=TILE1
// CHECK-LABEL: func @moe
// CHECK-SAME: (%[[U:[^:]+]]: memref<?x8xf32>, %[[G:[^:]+]]: memref<4x4x8xbf16>, %[[UP:[^:]+]]: memref<4x4x8xbf16>, %[[D:[^:]+]]: memref<4x8x4xbf16>, %[[E:[^:]+]]: memref<?x2xi32>, %[[W:[^:]+]]: memref<?x2xf32>, %[[R:[^:]+]]: memref<?x8xf32>, %[[MLP:[^:]+]]: memref<8x8xbf16>)
// CHECK: %[[N:[^ ]+]] = arith.muli
// CHECK: %[[GROUPS:[^ ]+]] = arith.minui %[[N]], %[[C4:[^ ]+]] : index
// CHECK: %[[PAD:[^ ]+]] = arith.muli %[[GROUPS]], %[[C3:[^ ]+]] : index
// CHECK: %[[P:[^ ]+]] = arith.addi %[[N]], %[[PAD]] : index
// CHECK: %[[ORDER:[^ ]+]] = memref.alloc(%[[P]]) : memref<?xi32>
// CHECK: %[[H:[^ ]+]] = memref.alloc(%[[P]]) : memref<?x4xf32>
// CHECK: %[[ROWS:[^ ]+]] = memref.alloc(%[[N]]) : memref<?xi32>
// CHECK: %[[COUNTS:[^ ]+]] = memref.alloc() : memref<5xi32>
// CHECK-NEXT: ember.moe_group %[[E]] into %[[ORDER]], %[[ROWS]], %[[COUNTS]] {n_routed = 4 : i64, rows_per_tile = 4 : i64} : memref<?x2xi32> into memref<?xi32>, memref<?xi32>, memref<5xi32>
// CHECK-NOT: ember.moe_dispatch
// CHECK-NOT: memref.alloc
// CHECK-NEXT: ember.expert_gate_up %[[U]], %[[G]], %[[UP]], %[[E]], %[[ORDER]] into %[[H]] {rows_per_tile = 4 : i64}
// CHECK-NOT: ember.expert_down %
// CHECK-NOT: memref.alloc
// CHECK: ember.linear %[[U]], %[[MLP]] into %[[R]] {accumulate}
// CHECK-NEXT: ember.expert_down_combine %[[U]], %[[H]], %[[D]], %[[E]], %[[W]], %[[ROWS]] into %[[R]] {n_routed = 4 : i64} : memref<?x8xf32>, memref<?x4xf32>, memref<4x8x4xbf16>, memref<?x2xi32>, memref<?x2xf32>, memref<?xi32> into memref<?x8xf32>
// CHECK-NEXT: memref.dealloc %[[ROWS]]
// CHECK-NEXT: memref.dealloc %[[COUNTS]]
// CHECK-NEXT: memref.dealloc %[[ORDER]]
// CHECK-NEXT: memref.dealloc %[[H]]
// CHECK-NOT: ember.moe_combine
// CHECK-NOT: memref.dealloc
// CHECK: return
//
// rows-per-tile=1: no padding, the order and h buffers stay.
// TILE1-LABEL: func @moe
// TILE1: %[[ORDER:[^ ]+]] = memref.alloc(%[[N:[^ ]+]]) : memref<?xi32>
// TILE1: %[[ROWS:[^ ]+]] = memref.alloc(%[[N]]) : memref<?xi32>
// TILE1: %[[COUNTS:[^ ]+]] = memref.alloc() : memref<5xi32>
// TILE1-NEXT: ember.moe_group %{{[^ ]+}} into %[[ORDER]], %[[ROWS]], %[[COUNTS]] {n_routed = 4 : i64} :
// TILE1: %[[H:[^ ]+]] = memref.alloc(%[[N]]) : memref<?x4xf32>
// TILE1-NEXT: ember.expert_gate_up %{{.*}}, %[[ORDER]] into %[[H]] :
// TILE1: ember.expert_down_combine %{{.*}}, %[[H]], %{{.*}}, %[[ROWS]] into
// TILE1-NEXT: memref.dealloc %[[ROWS]]
// TILE1-NEXT: memref.dealloc %[[COUNTS]]
// TILE1-NEXT: memref.dealloc %[[ORDER]]
// TILE1-NEXT: memref.dealloc %[[H]]
func.func @moe(%u: memref<?x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
               %experts: memref<?x2xi32>, %weights: memref<?x2xf32>, %r: memref<?x8xf32>, %mlp: memref<8x8xbf16>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %t = memref.dim %u, %c0 : memref<?x8xf32>
  %n = arith.muli %t, %c2 : index
  %order = memref.alloc(%n) : memref<?xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<?x2xi32> into memref<?xi32>
  %h = memref.alloc(%n) : memref<?x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<?x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<?x2xi32>, memref<?xi32> into memref<?x4xf32>
  %y = memref.alloc(%n) : memref<?x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x4xf32>, memref<4x8x4xbf16>, memref<?x2xi32>, memref<?xi32> into memref<?x8xf32>
  ember.linear %u, %mlp into %r {accumulate} : memref<?x8xf32>, memref<8x8xbf16> into memref<?x8xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<?x8xf32>, memref<?x8xf32>, memref<?x2xi32>, memref<?x2xf32> into memref<?x8xf32>
  memref.dealloc %order : memref<?xi32>
  memref.dealloc %h : memref<?x4xf32>
  memref.dealloc %y : memref<?x8xf32>
  return
}

// -----

// Not fused: the expert outputs are read again after the combine.
// CHECK-LABEL: func @y_read_elsewhere
// CHECK-NOT: ember.expert_down_combine
// CHECK: ember.moe_dispatch
// CHECK: ember.expert_down
// CHECK: ember.moe_combine
func.func @y_read_elsewhere(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                            %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>, %copy: memref<4x8xf32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.copy %y, %copy : memref<4x8xf32> to memref<4x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

// Not fused: the expert outputs are a function argument (visible to the caller).
// CHECK-LABEL: func @y_argument
// CHECK-NOT: ember.expert_down_combine
// CHECK: ember.moe_dispatch
// CHECK: ember.expert_down
// CHECK: ember.moe_combine
func.func @y_argument(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                      %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>, %y: memref<4x8xf32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  return
}

// -----

// Not fused: h changes between the down projection and the combine, which
// would read it too late.
// CHECK-LABEL: func @h_overwritten
// CHECK-NOT: ember.expert_down_combine
// CHECK: ember.moe_dispatch
// CHECK: ember.expert_down
// CHECK: ember.moe_combine
func.func @h_overwritten(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                         %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  ember.silu_mul %h, %h into %h : memref<4x4xf32>, memref<4x4xf32> into memref<4x4xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

// Not fused: a view of h is written in between (views count as their buffer).
// CHECK-LABEL: func @h_view_overwritten
// CHECK-NOT: ember.expert_down_combine
// CHECK: ember.moe_dispatch
// CHECK: ember.expert_down
// CHECK: ember.moe_combine
func.func @h_view_overwritten(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                              %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>, %other: memref<1x4xf32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  %view = memref.subview %h[1, 0] [1, 4] [1, 1] : memref<4x4xf32> to memref<1x4xf32, strided<[4, 1], offset: 4>>
  memref.copy %other, %view : memref<1x4xf32> to memref<1x4xf32, strided<[4, 1], offset: 4>>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

// Not fused: the choices change between the down projection and the combine.
// CHECK-LABEL: func @experts_overwritten
// CHECK-NOT: ember.expert_down_combine
// CHECK: ember.moe_dispatch
// CHECK: ember.expert_down
// CHECK: ember.moe_combine
func.func @experts_overwritten(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                               %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>, %other: memref<2x2xi32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  memref.copy %other, %experts : memref<2x2xi32> to memref<2x2xi32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

// Not fused: the order changes after the dispatch, so its inverse would not
// match what the down projection reads.
// CHECK-LABEL: func @order_overwritten
// CHECK-NOT: ember.expert_down_combine
// CHECK: ember.moe_dispatch
// CHECK: ember.expert_down
// CHECK: ember.moe_combine
func.func @order_overwritten(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                             %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>, %other: memref<4xi32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  memref.copy %other, %order : memref<4xi32> to memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

func.func private @opaque()

// Not fused: a call in between may write anything.
// CHECK-LABEL: func @unknown_write
// CHECK-NOT: ember.expert_down_combine
// CHECK: ember.moe_dispatch
// CHECK: ember.expert_down
// CHECK: ember.moe_combine
func.func @unknown_write(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                         %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  func.call @opaque() : () -> ()
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

// Not fused: the combine reads other choices than the down projection.
// CHECK-LABEL: func @other_experts
// CHECK-NOT: ember.expert_down_combine
// CHECK: ember.moe_dispatch
// CHECK: ember.expert_down
// CHECK: ember.moe_combine
func.func @other_experts(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                         %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>, %experts2: memref<2x2xi32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  ember.moe_combine %u, %y, %experts2, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

// Not fused: the combine counts expert 3 as a zero expert, the down weights
// hold 4 real ones.
// CHECK-LABEL: func @n_routed_mismatch
// CHECK-NOT: ember.expert_down_combine
// CHECK: ember.moe_dispatch
// CHECK: ember.expert_down
// CHECK: ember.moe_combine
func.func @n_routed_mismatch(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                             %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 3 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

// Static shapes: T*k = 6 assignments of R = 4 experts in tiles of 4 rows
// need 6 + min(6, 4) * 3 = 18 rows.
// CHECK-LABEL: func @moe_static
// CHECK: %[[ORDER:[^ ]+]] = memref.alloc() : memref<18xi32>
// CHECK: %[[H:[^ ]+]] = memref.alloc() : memref<18x4xf32>
// CHECK: memref.alloc() : memref<6xi32>
// CHECK: ember.moe_group %{{.*}} into %[[ORDER]], %{{.*}} : memref<3x2xi32> into memref<18xi32>, memref<6xi32>, memref<5xi32>
// CHECK: ember.expert_gate_up %{{.*}}, %[[ORDER]] into %[[H]] {rows_per_tile = 4 : i64}
// CHECK: ember.expert_down_combine %{{.*}}, %[[H]], %{{.*}} : memref<3x8xf32>, memref<18x4xf32>,
func.func @moe_static(%u: memref<3x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                      %experts: memref<3x2xi32>, %weights: memref<3x2xf32>, %r: memref<3x8xf32>) {
  %order = memref.alloc() : memref<6xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<3x2xi32> into memref<6xi32>
  %h = memref.alloc() : memref<6x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<3x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<3x2xi32>, memref<6xi32> into memref<6x4xf32>
  %y = memref.alloc() : memref<6x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<6x4xf32>, memref<4x8x4xbf16>, memref<3x2xi32>, memref<6xi32> into memref<6x8xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<3x8xf32>, memref<6x8xf32>, memref<3x2xi32>, memref<3x2xf32> into memref<3x8xf32>
  memref.dealloc %order : memref<6xi32>
  memref.dealloc %h : memref<6x4xf32>
  memref.dealloc %y : memref<6x8xf32>
  return
}

// -----

// Not fused: h is read by another op, which the padded rows would confuse.
// CHECK-LABEL: func @h_read_elsewhere
// CHECK-NOT: ember.moe_group
// CHECK: ember.moe_dispatch
// CHECK: ember.moe_combine
func.func @h_read_elsewhere(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                            %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>, %copy: memref<4x4xf32>) {
  %order = memref.alloc() : memref<4xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  memref.copy %h, %copy : memref<4x4xf32> to memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %order : memref<4xi32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

// Not fused: the order is a function argument (the caller may read it).
// CHECK-LABEL: func @order_argument
// CHECK-NOT: ember.moe_group
// CHECK: ember.moe_dispatch
// CHECK: ember.moe_combine
func.func @order_argument(%u: memref<2x8xf32>, %gate: memref<4x4x8xbf16>, %up: memref<4x4x8xbf16>, %down: memref<4x8x4xbf16>,
                          %experts: memref<2x2xi32>, %weights: memref<2x2xf32>, %r: memref<2x8xf32>, %order: memref<4xi32>) {
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<2x2xi32> into memref<4xi32>
  %h = memref.alloc() : memref<4x4xf32>
  ember.expert_gate_up %u, %gate, %up, %experts, %order into %h : memref<2x8xf32>, memref<4x4x8xbf16>, memref<4x4x8xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x4xf32>
  %y = memref.alloc() : memref<4x8xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x4xf32>, memref<4x8x4xbf16>, memref<2x2xi32>, memref<4xi32> into memref<4x8xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<2x8xf32>, memref<4x8xf32>, memref<2x2xi32>, memref<2x2xf32> into memref<2x8xf32>
  memref.dealloc %h : memref<4x4xf32>
  memref.dealloc %y : memref<4x8xf32>
  return
}

// -----

// A rows-per-tile below 1 is an error.
// RUN: not ember-opt %s --split-input-file --ember-fuse-moe-combine=rows-per-tile=0 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: ember-fuse-moe-combine: rows-per-tile must be >= 1, got 0
func.func @bad_option() {
  return
}

// -----

// The pipeline's disable switch: nothing fused.
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline=disable=moe | FileCheck %s --check-prefix=OFF
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline=disable=all | FileCheck %s --check-prefix=OFF
// OFF-NOT: ember.expert_down_combine
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline | FileCheck %s --check-prefix=ON
// ON: ember.moe_group
// ON: ember.expert_down_combine

// -----

// FP8 experts: expert_gate_up keeps its block scales, and expert_down's go
// into the expert_down_combine.
// CHECK-LABEL: func @fp8_experts
// CHECK-SAME: (%[[U:[^:]+]]: memref<?x8xf32>, %[[G:[^:]+]]: memref<4x4x8xf8E4M3FN>, %[[UP:[^:]+]]: memref<4x4x8xf8E4M3FN>, %[[D:[^:]+]]: memref<4x8x4xf8E4M3FN>, %[[S:[^:]+]]: memref<4x1x1xf32>,
// CHECK: ember.expert_gate_up %[[U]], %[[G]], %[[UP]] scaled %[[S]], %[[S]], %{{.*}} into %{{.*}} {rows_per_tile = 4 : i64, weight_block = array<i64: 128, 128>}
// CHECK: ember.expert_down_combine %[[U]], %{{.*}}, %[[D]] scaled %[[S]], %{{.*}} into %{{.*}} {n_routed = 4 : i64, weight_block = array<i64: 128, 128>}
func.func @fp8_experts(%u: memref<?x8xf32>, %gate: memref<4x4x8xf8E4M3FN>, %up: memref<4x4x8xf8E4M3FN>,
                       %down: memref<4x8x4xf8E4M3FN>, %s: memref<4x1x1xf32>,
                       %experts: memref<?x2xi32>, %weights: memref<?x2xf32>, %r: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %t = memref.dim %u, %c0 : memref<?x8xf32>
  %n = arith.muli %t, %c2 : index
  %order = memref.alloc(%n) : memref<?xi32>
  ember.moe_dispatch %experts into %order {n_routed = 4 : i64} : memref<?x2xi32> into memref<?xi32>
  %h = memref.alloc(%n) : memref<?x4xf32>
  ember.expert_gate_up %u, %gate, %up scaled %s, %s, %experts, %order into %h {weight_block = array<i64: 128, 128>}
      : memref<?x8xf32>, memref<4x4x8xf8E4M3FN>, memref<4x4x8xf8E4M3FN> scaled memref<4x1x1xf32>, memref<4x1x1xf32>,
        memref<?x2xi32>, memref<?xi32> into memref<?x4xf32>
  %y = memref.alloc(%n) : memref<?x8xf32>
  ember.expert_down %h, %down scaled %s, %experts, %order into %y {weight_block = array<i64: 128, 128>}
      : memref<?x4xf32>, memref<4x8x4xf8E4M3FN> scaled memref<4x1x1xf32>, memref<?x2xi32>, memref<?xi32> into memref<?x8xf32>
  ember.moe_combine %u, %y, %experts, %weights into %r {n_routed = 4 : i64} : memref<?x8xf32>, memref<?x8xf32>, memref<?x2xi32>, memref<?x2xf32> into memref<?x8xf32>
  memref.dealloc %order : memref<?xi32>
  memref.dealloc %h : memref<?x4xf32>
  memref.dealloc %y : memref<?x8xf32>
  return
}
