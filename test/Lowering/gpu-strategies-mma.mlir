// RUN: ember-opt %s --split-input-file --ember-gpu-strategies --cse | FileCheck %s
// RUN: ember-opt %s --split-input-file --ember-gpu-strategies=tensor-core-min-tokens=0 --cse \
// RUN:   | FileCheck %s --check-prefix=OFF
// RUN: not ember-opt %s --ember-gpu-strategies=tensor-core-min-tokens=-1 2>&1 | FileCheck %s --check-prefix=BAD

// mma_sync_tile: below 64 tokens the GEMV (warp_per_row), from 64 on tiles of
// 64 tokens x 64 rows on tensor cores: grid x = ceil(80 / 64) = 2, grid y =
// ceil(T / 64), 128 threads. Per step of 16 along K each thread loads 2
// vectors of x and one of 8 bf16 weights, stages x as bf16 hi and lo words
// (rows of 8 words + 4 of padding: 64 x 12 = 768), and after one barrier
// loads the next step while 2 (m) x 4 (n) x 2 (hi, lo) = 16 MMAs run. Their
// fragments come by ldmatrix.x4: one per m tile and half (A), one per two n
// tiles (B); no fragment word is loaded on its own.
// CHECK-LABEL: func @linear
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x64xf32>, %[[W:[^:]*]]: memref<80x64xbf16>, %[[Y:[^:]*]]: memref<?x80xf32>)
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[T:.*]] = memref.dim %[[Y]]
// CHECK: %[[FEW:.*]] = arith.cmpi ult, %[[T]], %[[C64]]
// CHECK: scf.if %[[FEW]] {
// CHECK: gpu.launch
// CHECK: strategy = "warp_per_row"
// CHECK: } else {
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[TILES:.*]] = arith.ceildivui %[[T]], %[[C64]]
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C2]], %{{.*}} = %[[TILES]], %{{.*}}) threads({{.*}}) in (%{{.*}} = %[[C128]], {{.*}}) workgroup(%[[HI:.*]] : memref<768xi32, #gpu.address_space<workgroup>>, %[[LO:.*]] : memref<768xi32, #gpu.address_space<workgroup>>, %[[WT:.*]] : memref<768xi32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-2: vector.load %[[X]][{{.*}}] {alignment = 16 : i64} : memref<?x64xf32>, vector<4xf32>
// CHECK: vector.load %[[W]][{{.*}}] {alignment = 16 : i64} : memref<80x64xbf16>, vector<8xbf16>
// CHECK: scf.for
// CHECK: arith.truncf %{{.*}} : vector<4xf32> to vector<4xbf16>
// CHECK: arith.subf
// CHECK: vector.store %{{.*}}, %[[HI]]
// CHECK: vector.store %{{.*}}, %[[LO]]
// CHECK: vector.store %{{.*}}, %[[WT]][{{.*}}] : memref<768xi32, #gpu.address_space<workgroup>>, vector<4xi32>
// CHECK: gpu.barrier
// CHECK-COUNT-2: vector.load %[[X]]
// CHECK: vector.load %[[W]]
// CHECK-NOT: memref.load %[[HI]]
// CHECK: nvgpu.ldmatrix %[[HI]][%{{.*}}] {numTiles = 4 : i32, transpose = false} : memref<768xi32, #gpu.address_space<workgroup>> -> vector<4x1xi32>
// CHECK: nvgpu.ldmatrix %[[LO]]
// CHECK: nvgpu.ldmatrix %[[HI]]
// CHECK: nvgpu.ldmatrix %[[LO]]
// CHECK-NOT: memref.load %[[WT]]
// CHECK: nvgpu.ldmatrix %[[WT]]
// CHECK-COUNT-8: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: nvgpu.ldmatrix %[[WT]]
// CHECK-COUNT-8: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK: scf.yield
// Tokens and rows past the ends store nothing.
// CHECK: arith.cmpi ult, %{{.*}}, %[[T]]
// CHECK: memref.store %{{.*}}, %[[Y]]
// CHECK: strategy = "mma_sync_tile", block = [128, 1, 1], grid_dims = [1, 0, -1], thread_dims = [-1, -1, -1]
// OFF-LABEL: func @linear
// OFF-NOT: nvvm.mma.sync
// OFF: strategy = "warp_per_row"
// OFF-NOT: mma_sync_tile
func.func @linear(%x: memref<?x64xf32>, %w: memref<80x64xbf16>, %y: memref<?x80xf32>) {
  ember.linear %x, %w into %y : memref<?x64xf32>, memref<80x64xbf16> into memref<?x80xf32>
  return
}

// -----

// norm_swiglu: two weights take tiles of 32 rows (2 n tiles per warp) and
// steps of 32 along K (x: 64 x 20 words; each weight 32 x 20), so 2 (k) x 2
// (weights) x 2 (m) x 2 (n) x 2 (hi, lo) = 32 MMAs per step; the norm
// weight scales x as it is staged, each thread sums the squares of its 4
// rows, and 8 consecutive lanes (one row) meet by 3 xor shuffles before the
// row's inverse goes to workgroup memory.
// CHECK-LABEL: func @norm_swiglu
// CHECK: gpu.launch {{.*}} workgroup({{.*}}memref<1280xi32, #gpu.address_space<workgroup>>, {{.*}}memref<1280xi32, #gpu.address_space<workgroup>>, {{.*}}memref<640xi32, #gpu.address_space<workgroup>>, {{.*}}memref<640xi32, #gpu.address_space<workgroup>>, %[[NORMS:.*]] : memref<64xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for
// CHECK: vector.reduction <add>
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: gpu.shuffle xor %{{.*}}, %c4_i32
// CHECK: gpu.shuffle xor %{{.*}}, %c2_i32
// CHECK: gpu.shuffle xor %{{.*}}, %c1_i32
// CHECK: math.rsqrt
// CHECK: memref.store %{{.*}}, %[[NORMS]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[NORMS]]
// CHECK: math.exp
// CHECK: strategy = "mma_sync_tile"
func.func @norm_swiglu(%x: memref<?x128xf32>, %n: memref<128xbf16>, %g: memref<64x128xbf16>, %u: memref<64x128xbf16>,
                       %h: memref<?x64xf32>) {
  ember.norm_swiglu %x, %n, %g, %u into %h {eps = 1.0e-05 : f32}
      : memref<?x128xf32>, memref<128xbf16>, memref<64x128xbf16>, memref<64x128xbf16> into memref<?x64xf32>
  return
}

// -----

// No tensor cores for f32 weights, for K = 40 (not a multiple of 16), or
// for swiglu at K = 48 (two weights need a multiple of 32).
// CHECK-LABEL: func @warp_per_row_only
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: mma_sync_tile
func.func @warp_per_row_only(%x: memref<?x64xf32>, %w: memref<80x64xf32>, %y: memref<?x80xf32>,
                             %x40: memref<?x40xf32>, %w40: memref<80x40xbf16>,
                             %x48: memref<?x48xf32>, %g: memref<64x48xbf16>, %u: memref<64x48xbf16>, %h: memref<?x64xf32>) {
  ember.linear %x, %w into %y : memref<?x64xf32>, memref<80x64xf32> into memref<?x80xf32>
  ember.linear %x40, %w40 into %y : memref<?x40xf32>, memref<80x40xbf16> into memref<?x80xf32>
  ember.swiglu %x48, %g, %u into %h : memref<?x48xf32>, memref<64x48xbf16>, memref<64x48xbf16> into memref<?x64xf32>
  return
}

// -----

// expert_gate_up: from 64 tokens (T = experts' dim 0) a block per (window of
// 64 sorted rows, 32 hidden units): grid x = 64 / 32 = 2, grid y =
// ceil(rows / 64). 64 threads write their row's key (R = 8 for rows that
// compute nothing) and token to workgroup memory; then one pass of the
// tile per expert of the window, smallest key first, reading gate[e] and
// up[e] and storing silu(gate) * up for the rows whose key is e.
// CHECK-LABEL: func @expert_gate_up
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x64xf32>, %[[G:[^:]*]]: memref<8x64x64xbf16>, %[[U:[^:]*]]: memref<8x64x64xbf16>, %[[E:[^:]*]]: memref<?x3xi32>, %[[O:[^:]*]]: memref<?xi32>, %[[H:[^:]*]]: memref<?x64xf32>)
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[T:.*]] = memref.dim %[[E]], %c0
// CHECK: %[[FEW:.*]] = arith.cmpi ult, %[[T]], %[[C64]]
// CHECK: scf.if %[[FEW]] {
// CHECK: strategy = "warp_per_row"
// CHECK: } else {
// CHECK: %[[ROWS:.*]] = memref.dim %[[H]], %c0
// CHECK: %[[WINDOWS:.*]] = arith.ceildivui %[[ROWS]], %[[C64]]
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c2, %{{.*}} = %[[WINDOWS]], %{{.*}}) {{.*}} workgroup({{.*}}memref<1280xi32, #gpu.address_space<workgroup>>, {{.*}}memref<1280xi32, #gpu.address_space<workgroup>>, {{.*}}memref<640xi32, #gpu.address_space<workgroup>>, {{.*}}memref<640xi32, #gpu.address_space<workgroup>>, %[[KEYS:.*]] : memref<64xi32, #gpu.address_space<workgroup>>, %[[TOKENS:.*]] : memref<64xi32, #gpu.address_space<workgroup>>)
// CHECK: memref.store %{{.*}}, %[[KEYS]]
// CHECK: memref.store %{{.*}}, %[[TOKENS]]
// CHECK: memref.load %[[O]]
// CHECK: memref.store %{{.*}}, %[[KEYS]]
// CHECK: memref.store %{{.*}}, %[[TOKENS]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[TOKENS]]
// CHECK: scf.for
// CHECK: memref.load %[[KEYS]]
// CHECK: scf.while (%[[EXPERT_ARG:.*]] = %{{.*}}) : (index) -> index {
// CHECK: arith.cmpi ult, %[[EXPERT_ARG]], %c8
// CHECK: } do {
// CHECK: ^bb0(%[[EXPERT:.*]]: index):
// CHECK: vector.load %[[G]][%[[EXPERT]], {{.*}}] {alignment = 16 : i64} : memref<8x64x64xbf16>, vector<8xbf16>
// CHECK: vector.load %[[U]][%[[EXPERT]], {{.*}}] {alignment = 16 : i64} : memref<8x64x64xbf16>, vector<8xbf16>
// CHECK: scf.for
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: memref.load %[[KEYS]]
// CHECK: arith.cmpi eq, %{{.*}}, %[[EXPERT]]
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[H]]
// CHECK: strategy = "mma_sync_tile"
// OFF-LABEL: func @expert_gate_up
// OFF-NOT: nvvm.mma.sync
// OFF: strategy = "warp_per_row"
// OFF-NOT: mma_sync_tile
func.func @expert_gate_up(%x: memref<?x64xf32>, %g: memref<8x64x64xbf16>, %u: memref<8x64x64xbf16>,
                          %e: memref<?x3xi32>, %o: memref<?xi32>, %h: memref<?x64xf32>) {
  ember.expert_gate_up %x, %g, %u, %e, %o into %h {rows_per_tile = 4 : i64}
      : memref<?x64xf32>, memref<8x64x64xbf16>, memref<8x64x64xbf16>, memref<?x3xi32>, memref<?xi32>
      into memref<?x64xf32>
  return
}

// -----

// expert_down_combine: from 64 tokens four kernels. (1) Each h row's owner
// (-1, then the real assignment a whose row rows[a] is); (2) the grouped
// tile of one weight (64 rows x 64 outputs, steps of 16: 64 x 12 words per
// staged tile), a row's key its owner's expert, writing the outputs by row
// into a [rows, 64] buffer; (3) a thread per (output, token) combines in
// order j, computing the dot product itself for an assignment that does not
// own its row. Both buffers are freed after the last kernel.
// CHECK-LABEL: func @expert_down_combine
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x64xf32>, %[[H:[^:]*]]: memref<?x32xf32>, %[[D:[^:]*]]: memref<8x64x32xbf16>, %[[E:[^:]*]]: memref<?x3xi32>, %[[W:[^:]*]]: memref<?x3xf32>, %[[R:[^:]*]]: memref<?xi32>, %[[OUT:[^:]*]]: memref<?x64xf32>)
// CHECK: %[[T:.*]] = memref.dim %[[OUT]], %c0
// CHECK: %[[FEW:.*]] = arith.cmpi ult, %[[T]], %c64
// CHECK: scf.if %[[FEW]] {
// CHECK: strategy = "warp_per_row"
// CHECK: } else {
// CHECK: %[[ROWS:.*]] = memref.dim %[[H]], %c0
// CHECK: %[[OWNER:.*]] = memref.alloc(%[[ROWS]]) : memref<?xi32>
// CHECK: %[[Y:.*]] = memref.alloc(%[[ROWS]]) : memref<?x64xf32>
// CHECK: gpu.launch
// CHECK: memref.store %c-1_i32, %[[OWNER]]
// CHECK: gpu.launch
// CHECK: memref.load %[[R]]
// CHECK: memref.store %{{.*}}, %[[OWNER]]
// CHECK: gpu.launch {{.*}} workgroup({{.*}}memref<768xi32, #gpu.address_space<workgroup>>, {{.*}}memref<768xi32, #gpu.address_space<workgroup>>, {{.*}}memref<768xi32, #gpu.address_space<workgroup>>, %[[KEYS:.*]] : memref<64xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<64xi32, #gpu.address_space<workgroup>>)
// CHECK: memref.load %[[OWNER]]
// CHECK: gpu.barrier
// CHECK: scf.while
// CHECK: vector.load %[[D]]
// CHECK: scf.for
// CHECK-COUNT-16: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: memref.store %{{.*}}, %[[Y]]
// CHECK: gpu.launch
// CHECK: memref.load %[[X]]
// CHECK: scf.for
// CHECK: memref.load %[[OWNER]]
// CHECK: memref.load %[[Y]]
// CHECK: } else {
// CHECK: memref.load %[[D]]
// CHECK: memref.load %[[OUT]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: memref.dealloc %[[OWNER]]
// CHECK: memref.dealloc %[[Y]]
// OFF-LABEL: func @expert_down_combine
// OFF-NOT: nvvm.mma.sync
// OFF: strategy = "warp_per_row"
// OFF-NOT: mma_sync_tile
func.func @expert_down_combine(%x: memref<?x64xf32>, %h: memref<?x32xf32>, %d: memref<8x64x32xbf16>,
                               %e: memref<?x3xi32>, %w: memref<?x3xf32>, %rows: memref<?xi32>,
                               %out: memref<?x64xf32>) {
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64}
      : memref<?x64xf32>, memref<?x32xf32>, memref<8x64x32xbf16>, memref<?x3xi32>, memref<?x3xf32>,
        memref<?xi32> into memref<?x64xf32>
  return
}

// -----

// expert_gate_up with f32 weights, or D = 48, stays warp_per_row; so does
// expert_down_combine with f32 weights or F = 24.
// CHECK-LABEL: func @expert_gate_up_warp_per_row_only
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: mma_sync_tile
func.func @expert_gate_up_warp_per_row_only(%x: memref<?x64xf32>, %g: memref<8x64x64xf32>, %u: memref<8x64x64xf32>,
                                            %x48: memref<?x48xf32>, %g48: memref<8x64x48xbf16>,
                                            %u48: memref<8x64x48xbf16>, %e: memref<?x3xi32>, %o: memref<?xi32>,
                                            %h: memref<?x64xf32>, %w: memref<?x3xf32>, %h24: memref<?x24xf32>,
                                            %d24: memref<8x64x24xbf16>) {
  ember.expert_gate_up %x, %g, %u, %e, %o into %h
      : memref<?x64xf32>, memref<8x64x64xf32>, memref<8x64x64xf32>, memref<?x3xi32>, memref<?xi32>
      into memref<?x64xf32>
  ember.expert_gate_up %x48, %g48, %u48, %e, %o into %h
      : memref<?x48xf32>, memref<8x64x48xbf16>, memref<8x64x48xbf16>, memref<?x3xi32>, memref<?xi32>
      into memref<?x64xf32>
  ember.expert_down_combine %x, %h, %g, %e, %w, %o into %x {n_routed = 8 : i64}
      : memref<?x64xf32>, memref<?x64xf32>, memref<8x64x64xf32>, memref<?x3xi32>, memref<?x3xf32>,
        memref<?xi32> into memref<?x64xf32>
  ember.expert_down_combine %x, %h24, %d24, %e, %w, %o into %x {n_routed = 8 : i64}
      : memref<?x64xf32>, memref<?x24xf32>, memref<8x64x24xbf16>, memref<?x3xi32>, memref<?x3xf32>,
        memref<?xi32> into memref<?x64xf32>
  return
}

// BAD: ember-gpu-strategies: tensor-core-min-tokens must be >= 0, got -1
