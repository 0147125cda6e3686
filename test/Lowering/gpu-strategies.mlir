// RUN: ember-opt %s --split-input-file --ember-gpu-strategies=block-size=128 --cse | FileCheck %s
// RUN: ember-opt %s --split-input-file --ember-gpu-strategies="block-size=128 bounds-check=fatal" \
// RUN:   | FileCheck %s --check-prefix=FATAL

// warp_per_row: a warp per output row, groups of 4 tokens on grid y; lanes
// read the bf16 row with 16-byte loads of 8 elements and meet by 5 xor
// shuffles; lane 0 adds to y (accumulate). 48 rows are too few to fill the
// SMs with blocks of 4 warps, so the blocks hold one: 48 of them. A step
// of one token runs a loop for it alone (one load of x per step), the
// group's other sums zero.
// CHECK-LABEL: func @linear
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x256xf32>, %[[W:[^:]*]]: memref<48x256xbf16>, %[[Y:[^:]*]]: memref<?x48xf32>)
// CHECK-DAG: %[[C48:.*]] = arith.constant 48 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[T:.*]] = memref.dim %[[Y]]
// CHECK-DAG: %[[GROUPS:.*]] = arith.ceildivui %[[T]], %[[C4]]
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C48]], %{{.*}} = %[[GROUPS]], %{{.*}}) threads({{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %[[C1]], %{{.*}})
// CHECK: %[[SINGLE:.*]] = arith.cmpi eq, %[[T]], %[[C1]] : index
// CHECK: scf.if %[[SINGLE]] -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// CHECK: %[[ONE:.*]] = scf.for {{.*}} -> (vector<8xf32>) {
// CHECK: vector.load %[[W]]
// CHECK: vector.load %[[X]]
// CHECK-NOT: vector.load
// CHECK: scf.yield %[[ONE]], %[[ZERO:.*]], %[[ZERO]], %[[ZERO]] :
// CHECK: } else {
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.load %[[W]][{{.*}}] {alignment = 16 : i64} : memref<48x256xbf16>, vector<8xbf16>
// CHECK-COUNT-4: vector.load %[[X]][{{.*}}] {alignment = 16 : i64} : memref<?x256xf32>, vector<8xf32>
// CHECK: vector.reduction <add>
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK-NOT: gpu.shuffle
// CHECK: memref.load %[[Y]]
// CHECK: arith.addf
// CHECK: memref.store {{.*}}, %[[Y]]
// CHECK: } {ember.gpu_kernel = #ember.gpu_kernel<op = "linear", index = 0, strategy = "warp_per_row", block = [32, 1, 1], grid_dims = [1, 0, -1], thread_dims = [-1, 1, -1]>}
// CHECK-NOT: ember.linear
func.func @linear(%x: memref<?x256xf32>, %w: memref<48x256xbf16>, %y: memref<?x48xf32>) {
  ember.linear %x, %w into %y {accumulate} : memref<?x256xf32>, memref<48x256xbf16> into memref<?x48xf32>
  return
}

// -----

// Split-K (block_split_k): 48 f32 rows of K = 1024 give a block per row, and
// its 4 warps split the row (8 steps of 32 16-byte loads; slice s takes
// steps s and s + 4: it starts at (32 s + lane) * 4 and strides 512). Each
// warp's lane 0 leaves its 4 tokens' sums in workgroup memory
// ([row of the block][slice][token]: 16 floats); after the barrier lane 0 of
// slice 0 adds the 4 slices in order and adds to y; every warp reaches the
// barrier, so a row past the end reads row 47 and stores nothing.
// CHECK-LABEL: func @linear_split_k
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x1024xf32>, %[[W:[^:]*]]: memref<48x1024xf32>, %[[Y:[^:]*]]: memref<?x48xf32>)
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %[[C4]], %{{.*}}) workgroup(%[[SCRATCH:.*]] : memref<16xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[SLICE:.*]] = arith.remui %{{.*}}, %[[C4]] : index
// CHECK: %[[C47:.*]] = arith.constant 47 : index
// CHECK-NEXT: %[[ROW:.*]] = arith.minui %{{.*}}, %[[C47]] : index
// CHECK: %[[FIRST:.*]] = arith.muli %[[SLICE]], %[[C32]] : index
// CHECK: %[[LANE:.*]] = arith.addi %[[FIRST]], %{{.*}} : index
// CHECK: %[[START:.*]] = arith.muli %[[LANE]], %[[C4]] : index
// CHECK: scf.for %{{.*}} = %[[START]] to %{{.*}} step %[[C512:.*]] iter_args
// CHECK: vector.load %[[W]][%[[ROW]], %{{.*}}] {alignment = 16 : i64} : memref<48x1024xf32>, vector<4xf32>
// CHECK-COUNT-20: gpu.shuffle xor
// CHECK-COUNT-4: memref.store {{.*}}, %[[SCRATCH]]
// CHECK: gpu.barrier
// CHECK-COUNT-4: memref.load %[[SCRATCH]]
// CHECK: memref.load %[[Y]]
// CHECK: memref.store {{.*}}, %[[Y]]
// CHECK: op = "linear", index = 0, strategy = "block_split_k", block = [32, 4, 1], grid_dims = [1, 0, -1], thread_dims = [-1, 1, -1]>}
func.func @linear_split_k(%x: memref<?x1024xf32>, %w: memref<48x1024xf32>, %y: memref<?x48xf32>) {
  ember.linear %x, %w into %y {accumulate} : memref<?x1024xf32>, memref<48x1024xf32> into memref<?x48xf32>
  return
}

// -----

// mla_up_v is warp_per_row per head: output (h, v) = row h * 16 + v dots
// o_lat[t, h] with kv_b row h * (Dn + Dv) + Dn + v (Dn = Dv = 16, so 32 h +
// 16 + v) and stores v[t, h, v]; 4 heads x 16 values = 64 rows.
// CHECK-LABEL: func @mla_up_v
// CHECK-SAME: (%[[O:[^:]*]]: memref<?x4x32xf32>, %[[KVB:[^:]*]]: memref<128x32xbf16>, %[[V:[^:]*]]: memref<?x4x16xf32>)
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C64]],
// CHECK: %[[HEAD:.*]] = arith.divui %[[ROW:.*]], %[[C16:.*]] : index
// CHECK: %[[WITHIN:.*]] = arith.remui %[[ROW]], %[[C16]] : index
// CHECK: %[[SKIP:.*]] = arith.addi %[[WITHIN]], %[[C16]] : index
// CHECK: %[[BASE:.*]] = arith.muli %[[HEAD]], %[[C32:.*]] : index
// CHECK: %[[KVROW:.*]] = arith.addi %[[BASE]], %[[SKIP]] : index
// CHECK: scf.for
// CHECK: vector.load %[[KVB]][%[[KVROW]], %{{.*}}] {alignment = 16 : i64} : memref<128x32xbf16>, vector<8xbf16>
// CHECK: vector.load %[[O]][%{{.*}}, %[[HEAD]], %{{.*}}] {alignment = 16 : i64} : memref<?x4x32xf32>, vector<8xf32>
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store {{.*}}, %[[V]][%{{.*}}, %[[HEAD]], %[[WITHIN]]]
// CHECK: op = "mla_up_v", index = 0, strategy = "warp_per_row"
// CHECK-NOT: ember.mla_up_v
func.func @mla_up_v(%o: memref<?x4x32xf32>, %kv_b: memref<128x32xbf16>, %v: memref<?x4x16xf32>) {
  ember.mla_up_v %o, %kv_b into %v : memref<?x4x32xf32>, memref<128x32xbf16> into memref<?x4x16xf32>
  return
}

// -----

// mla_absorb is block_split_k: lanes take runs of 8 latent columns (16-byte
// loads of kv_b's key rows h * 32 + n); C = 32 needs 4 lanes, so each warp
// splits into 8 slices of 4 lanes and the block's 32 slices split the Dn = 16
// rows (slice s takes n = s, s + 32, ..), 4 tokens per block from one load
// of each row. The slices' sums meet in workgroup memory
// [slice][token][column] (32 x 4 x 32 floats) across one barrier. A block
// per head: grid 4 x ceil(T / 4).
// CHECK-LABEL: func @mla_absorb
// CHECK-SAME: (%[[Q:[^:]*]]: memref<?x4x16xf32, strided<[96, 24, 1]>>, %[[KVB:[^:]*]]: memref<128x32xbf16>, %[[QL:[^:]*]]: memref<?x4x32xf32>)
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[GROUPS:.*]] = arith.ceildivui %{{.*}}, %[[C4]]
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C4]], %{{.*}} = %[[GROUPS]], %{{.*}}) threads(%[[LANE:[^,]*]], %[[WARP:[^,]*]], %{{[^)]*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %[[C4]], %{{.*}}) workgroup(%[[PARTIAL:.*]] : memref<4096xf32, #gpu.address_space<workgroup>>)
// CHECK-DAG: %[[INWARP:.*]] = arith.divui %[[LANE]], %[[C4]] : index
// CHECK-DAG: %[[WARPSLICES:.*]] = arith.muli %[[WARP]], %[[C8:.*]] : index
// CHECK: %[[SLICE:.*]] = arith.addi %[[WARPSLICES]], %[[INWARP]] : index
// CHECK: scf.if
// CHECK: scf.for %[[N:.*]] = %[[SLICE]] to %{{.*}} step %[[C32]]
// CHECK: vector.load %[[KVB]][{{.*}}] {alignment = 16 : i64} : memref<128x32xbf16>, vector<8xbf16>
// CHECK-COUNT-4: memref.load %[[Q]][%{{.*}}, %{{.*}}, %[[N]]]
// CHECK-COUNT-4: vector.store {{.*}}, %[[PARTIAL]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK-COUNT-32: memref.load %[[PARTIAL]]
// CHECK: memref.store {{.*}}, %[[QL]]
// CHECK: op = "mla_absorb", index = 0, strategy = "block_split_k", block = [32, 4, 1]
// CHECK-NOT: ember.mla_absorb
func.func @mla_absorb(%q: memref<?x4x16xf32, strided<[96, 24, 1]>>, %kv_b: memref<128x32xbf16>,
                      %ql: memref<?x4x32xf32>) {
  ember.mla_absorb %q, %kv_b into %ql
      : memref<?x4x16xf32, strided<[96, 24, 1]>>, memref<128x32xbf16> into memref<?x4x32xf32>
  return
}

// -----

// ngram_embed is warp_per_row after a block-wide gather: E = 12 tables of
// width 8 into D = 96 rows; 4 tokens per block; 96 rows give one row per warp
// (24 blocks of 4 warps). (1) threads 0..3 hash their token and store its 12
// ids and the token (13 i32 per token); (2) the threads gather the 4 x 12
// rows into workgroup memory (bf16, as the tables hold them), the 12 table
// loads of a column issued before any store; (3) each warp streams proj[i, d, :] (16-byte loads) against the
// gathered rows, 5 shuffles per token, lane 0 adds the clamped word
// embedding and stores the mean over 13.
// CHECK-LABEL: func @ngram_embed
// CHECK-SAME: %[[EMBED:[^:]*]]: memref<512x96xbf16>, %[[TABLES:[^:]*]]: memref<479376x8xbf16>, %[[PROJ:[^:]*]]: memref<12x96x8xbf16>, %[[OUT:[^:]*]]: memref<?x96xf32>)
// CHECK-DAG: %[[C24:.*]] = arith.constant 24 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C24]], {{.*}} workgroup(%[[IDS:.*]] : memref<52xi32, #gpu.address_space<workgroup>>, %[[ROWS:.*]] : memref<384xbf16, #gpu.address_space<workgroup>>)
// CHECK-COUNT-13: memref.store %{{.*}}, %[[IDS]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK-COUNT-12: memref.load %[[TABLES]]
// CHECK-COUNT-12: memref.store %{{.*}}, %[[ROWS]]
// CHECK: gpu.barrier
// CHECK: vector.load %[[PROJ]][{{.*}}] {alignment = 16 : i64} : memref<12x96x8xbf16>, vector<8xbf16>
// CHECK-COUNT-4: vector.load %[[ROWS]][%{{.*}}] {alignment = 2 : i64} : memref<384xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: arith.minui
// CHECK: memref.load %[[EMBED]]
// CHECK: arith.constant 1.300000e+01 : f32
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: op = "ngram_embed", index = 0, strategy = "warp_per_row", block = [32, 4, 1]
// CHECK-NOT: ember.ngram_embed
// With bounds-check=fatal the word-embedding read asserts instead of clamping.
// FATAL-LABEL: func @ngram_embed
// FATAL: cf.assert %{{.*}}, "ember gather: row id out of range of table 0"
// FATAL: memref.load %{{.*}} : memref<512x96xbf16>
func.func @ngram_embed(%tokens: memref<?xi32>, %table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                       %embed: memref<512x96xbf16>, %tables: memref<479376x8xbf16>, %proj: memref<12x96x8xbf16>,
                       %out: memref<?x96xf32>) {
  ember.ngram_embed %tokens, %table[%slots, %positions], %embed, %tables, %proj into %out
      {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>}
      : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<512x96xbf16>, memref<479376x8xbf16>, memref<12x96x8xbf16>
        into memref<?x96xf32>
  return
}

// -----

// Rows enough for 264 blocks of 4 warps (4096 / 4 = 1024) keep blocks of
// 32 x 4 threads, a warp per row; 1024 rows get blocks of 2 warps (512).
// CHECK-LABEL: func @wide
// CHECK: %[[C1024:.*]] = arith.constant 1024 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C1024]],
// CHECK: block = [32, 4, 1]
// CHECK: %[[C512:.*]] = arith.constant 512 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C512]],
// CHECK: block = [32, 2, 1]
func.func @wide(%x: memref<?x64xf32>, %w: memref<4096x64xbf16>, %y: memref<?x4096xf32>, %w2: memref<1024x64xbf16>,
                %y2: memref<?x1024xf32>) {
  ember.linear %x, %w into %y : memref<?x64xf32>, memref<4096x64xbf16> into memref<?x4096xf32>
  ember.linear %x, %w2 into %y2 : memref<?x64xf32>, memref<1024x64xbf16> into memref<?x1024xf32>
  return
}

// -----

// norm_swiglu: two weights, so 2 tokens per warp; the sum of squares of x
// rides along (a third accumulator per token) and scales both dots.
// CHECK-LABEL: func @norm_swiglu
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-2: vector.load {{.*}} : memref<64x128xbf16>, vector<8xbf16>
// CHECK: vector.load {{.*}} : memref<128xbf16>, vector<8xbf16>
// CHECK-COUNT-15: gpu.shuffle xor
// CHECK: math.sqrt
// CHECK: math.exp
// CHECK: ember.gpu_kernel = #ember.gpu_kernel<op = "norm_swiglu", index = 0, strategy = "warp_per_row"
func.func @norm_swiglu(%x: memref<?x128xf32>, %n: memref<128xbf16>, %g: memref<64x128xbf16>, %u: memref<64x128xbf16>,
                       %h: memref<?x64xf32>) {
  ember.norm_swiglu %x, %n, %g, %u into %h {eps = 1.0e-05 : f32}
      : memref<?x128xf32>, memref<128xbf16>, memref<64x128xbf16>, memref<64x128xbf16> into memref<?x64xf32>
  return
}

// -----

// block_per_row: a block per token (grid x = T), 64 threads for a row of
// 64, the warp sums in workgroup memory across one barrier. Indices count
// kernels as the traffic model does: silu_mul, left for the loops, is 0.
// CHECK-LABEL: func @rms_norm
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x64xf32>
// CHECK: ember.silu_mul
// CHECK: %[[T:.*]] = memref.dim %[[X]]
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[T]], {{.*}}) threads({{.*}}) in (%{{.*}} = %{{.*}}, {{.*}}) workgroup(%[[SCRATCH:.*]] : memref<2xf32, #gpu.address_space<workgroup>>)
// CHECK: gpu.shuffle xor
// CHECK: memref.store {{.*}}, %[[SCRATCH]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[SCRATCH]]
// CHECK: ember.gpu_kernel = #ember.gpu_kernel<op = "rms_norm", index = 1, strategy = "block_per_row", block = [64, 1, 1], grid_dims = [0, -1, -1], thread_dims = [1, -1, -1]>
func.func @rms_norm(%x: memref<?x64xf32>, %w: memref<64xf32>, %y: memref<?x64xf32>) {
  ember.silu_mul %x, %x into %y : memref<?x64xf32>, memref<?x64xf32> into memref<?x64xf32>
  ember.rms_norm %x, %w into %y {eps = 1.0e-06 : f32} : memref<?x64xf32>, memref<64xf32> into memref<?x64xf32>
  return
}

// -----

// No cooperative strategy: an input width that is dynamic or not a
// multiple of a 16-byte load, or a strided view, stays for the loops; so
// does an FP8 weight whose input width is not a multiple of the load its
// blocks allow (8 weights for blocks 24 wide).
// CHECK-LABEL: func @fallbacks
// CHECK-COUNT-4: ember.linear
// CHECK-NOT: gpu.launch
func.func @fallbacks(%x: memref<?x?xf32>, %w: memref<48x?xbf16>, %y: memref<?x48xf32>,
                     %x2: memref<?x12xf32>, %w2: memref<48x12xbf16>,
                     %x3: memref<?x64xf32, strided<[128, 1]>>, %w3: memref<48x64xbf16>,
                     %x4: memref<?x36xf32>, %w4: memref<48x36xf8E4M3FN>, %s4: memref<2x2xf32>) {
  ember.linear %x, %w into %y : memref<?x?xf32>, memref<48x?xbf16> into memref<?x48xf32>
  ember.linear %x2, %w2 into %y : memref<?x12xf32>, memref<48x12xbf16> into memref<?x48xf32>
  ember.linear %x3, %w3 into %y : memref<?x64xf32, strided<[128, 1]>>, memref<48x64xbf16> into memref<?x48xf32>
  ember.linear %x4, %w4 scaled %s4 into %y {weight_block = array<i64: 32, 24>}
      : memref<?x36xf32>, memref<48x36xf8E4M3FN> scaled memref<2x2xf32> into memref<?x48xf32>
  return
}

// -----

// split_kv: the partial kernel per (token x group of heads, chunk of 32
// rows) with the group's queries, the weights and the maxima in workgroup
// memory (4 heads of 32 + 8: one group), then the combine per (token x
// head); the partial results live in device memory for the step. The
// chunks cover the cache's capacity (dim 1): the rows' positions are in
// device memory.
// CHECK-LABEL: func @attention
// CHECK-SAME: (%[[QL:[^:]*]]: memref<?x4x32xf32>, %{{[^:]*}}: memref<?x4x8xf32>, %[[CACHE:[^:]*]]: memref<2x?x40xf32, strided<[?, 40, 1], offset: ?>>
// CHECK: %[[T:.*]] = memref.dim %[[QL]]
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[CAPACITY:.*]] = memref.dim %[[CACHE]], %[[C1]]
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: %[[CHUNKS:.*]] = arith.ceildivui %[[CAPACITY]], %[[C32]]
// CHECK: %[[TH:.*]] = arith.muli %[[T]], %{{.*}}
// CHECK: %[[SUMS:.*]] = memref.alloc(%[[TH]], %[[CHUNKS]]) : memref<?x?x32xf32>
// CHECK: %[[STATS:.*]] = memref.alloc(%[[TH]], %[[CHUNKS]]) : memref<?x?x2xf32>
// CHECK: %[[GROUPS:.*]] = arith.muli %[[T]], %{{.*}}
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[GROUPS]], %{{.*}} = %[[CHUNKS]], {{.*}}) workgroup(%{{.*}} : memref<160xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<128xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<4xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-4: gpu.shuffle xor
// CHECK: gpu.barrier
// CHECK: math.exp
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}}, %[[SUMS]]
// CHECK: memref.store {{.*}}, %[[STATS]]
// CHECK: ember.gpu_kernel = #ember.gpu_kernel<op = "mla_attention", index = 0, strategy = "split_kv"
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[TH]], {{.*}})
// CHECK: memref.load %[[STATS]]
// CHECK: memref.load %[[SUMS]]
// CHECK: arith.divf
// CHECK: ember.gpu_kernel = #ember.gpu_kernel<op = "mla_attention", index = 0, strategy = "split_kv"
// CHECK: memref.dealloc %[[SUMS]]
// CHECK: memref.dealloc %[[STATS]]
func.func @attention(%ql: memref<?x4x32xf32>, %qr: memref<?x4x8xf32>,
                     %cache: memref<2x?x40xf32, strided<[?, 40, 1], offset: ?>>, %slots: memref<?xi32>,
                     %positions: memref<?xi32>, %o: memref<?x4x32xf32>) {
  ember.mla_attention %ql, %qr, %cache[%slots, %positions] into %o {scale = 0.2 : f32}
      : memref<?x4x32xf32>, memref<?x4x8xf32>, memref<?xi32>, memref<2x?x40xf32, strided<[?, 40, 1], offset: ?>>
        into memref<?x4x32xf32>
  return
}

// -----

// router_topk as block_per_row: a block of one warp for 12 experts; the
// softmax's maximum and sum by block reductions (each its own scratch), then
// k rounds of a block arg-max whose winner thread 0 stores and takes out.
// CHECK-LABEL: func @router
// CHECK: gpu.launch {{.*}} workgroup(%[[P:.*]] : memref<12xf32, #gpu.address_space<workgroup>>, %[[S:.*]] : memref<12xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<1xi32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-5: arith.maximumf
// CHECK: gpu.barrier
// CHECK: math.exp
// CHECK: gpu.barrier
// CHECK: memref.store {{.*}}, %[[P]]
// CHECK: memref.store {{.*}}, %[[S]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK-COUNT-10: gpu.shuffle xor
// CHECK: gpu.barrier
// A round without a winner (every score left NaN) stores expert -1 of
// weight 0 and indexes nothing with it.
// CHECK: %[[FOUND:.*]] = arith.cmpi ne, %{{.*}}, %c2147483647_i32
// CHECK: %[[CHOICE:.*]]:2 = scf.if %[[FOUND]] -> (i32, f32)
// CHECK: memref.store %{{.*}}, %[[S]]
// CHECK: } else {
// CHECK-NEXT: %[[NO_EXPERT:.*]] = arith.constant -1 : i32
// CHECK: scf.yield %[[NO_EXPERT]]
// CHECK: memref.store %[[CHOICE]]#0, {{.*}} : memref<?x3xi32>
// CHECK: memref.store %[[CHOICE]]#1, {{.*}} : memref<?x3xf32>
// CHECK: gpu.barrier
// CHECK: ember.gpu_kernel = #ember.gpu_kernel<op = "router_topk", index = 0, strategy = "block_per_row", block = [32, 1, 1]
func.func @router(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>) {
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.000000e+00 : f32}
      : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----

// expert_gate_up as warp_per_row over moe_group's tiles (W = 2 rows): a warp
// per (tile, hidden unit) that runs only for a tile whose first row is an
// assignment of a real expert; one 16-byte load of each of gate and up rows
// serves both rows of the tile; each computed row's two sums meet by
// shuffles and lane 0 stores h.
// CHECK-LABEL: func @expert_gate_up
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x96xf32>, %[[GATE:[^:]*]]: memref<8x32x96xbf16>, %[[UP:[^:]*]]: memref<8x32x96xbf16>, %{{[^:]*}}: memref<?x3xi32>, %[[ORDER:[^:]*]]: memref<?xi32>, %[[H:[^:]*]]: memref<?x32xf32>)
// CHECK: %[[ROWS:.*]] = memref.dim %[[H]]
// CHECK: %[[TILES:.*]] = arith.ceildivui %[[ROWS]]
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %{{.*}}, %{{.*}} = %[[TILES]], {{.*}})
// CHECK: memref.load %[[ORDER]]
// CHECK: scf.if
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK: vector.load %[[GATE]]{{.*}} {alignment = 16 : i64} : memref<8x32x96xbf16>, vector<8xbf16>
// CHECK: vector.load %[[UP]]{{.*}} {alignment = 16 : i64} : memref<8x32x96xbf16>, vector<8xbf16>
// CHECK-COUNT-2: vector.load %[[X]]
// CHECK-COUNT-10: gpu.shuffle xor
// CHECK: memref.store {{.*}}, %[[H]]
// CHECK-COUNT-10: gpu.shuffle xor
// CHECK: memref.store {{.*}}, %[[H]]
// CHECK: ember.gpu_kernel = #ember.gpu_kernel<op = "expert_gate_up", index = 0, strategy = "warp_per_row", block = [32, 4, 1]
func.func @expert_gate_up(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>,
                          %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h {rows_per_tile = 2 : i64}
      : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}

// -----

// expert_down_combine as warp_per_row: a warp per (token, output d) on grid
// (outputs / 4, T); for each real expert j the lanes add weight_j times
// their share of down[e, d, :] . h[row, :] (16-byte loads), one warp sum
// follows, and lane 0 adds the zero experts' weighted x[t, d] into out.
// CHECK-LABEL: func @expert_down_combine
// CHECK-SAME: (%[[X:[^:]*]]: memref<?x96xf32>, %[[H:[^:]*]]: memref<?x32xf32>, %[[DOWN:[^:]*]]: memref<8x96x32xbf16>, %{{[^:]*}}: memref<?x3xi32>, %{{[^:]*}}: memref<?x3xf32>, %{{[^:]*}}: memref<?xi32>, %[[OUT:[^:]*]]: memref<?x96xf32>)
// CHECK: %[[T:.*]] = memref.dim %[[OUT]]
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %{{.*}}, %{{.*}} = %[[T]], {{.*}})
// CHECK: scf.for
// CHECK: scf.if
// CHECK: vector.broadcast
// CHECK: vector.load %[[DOWN]]{{.*}} {alignment = 16 : i64} : memref<8x96x32xbf16>, vector<8xbf16>
// CHECK: vector.load %[[H]]{{.*}} {alignment = 16 : i64} : memref<?x32xf32>, vector<8xf32>
// CHECK: vector.reduction <add>
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK-NOT: gpu.shuffle
// CHECK: memref.load %[[X]]
// CHECK: memref.load %[[OUT]]
// CHECK: memref.store {{.*}}, %[[OUT]]
// CHECK: ember.gpu_kernel = #ember.gpu_kernel<op = "expert_down_combine", index = 0, strategy = "warp_per_row", block = [32, 4, 1]
func.func @expert_down_combine(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %down: memref<8x96x32xbf16>,
                               %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %rows: memref<?xi32>,
                               %out: memref<?x96xf32>) {
  ember.expert_down_combine %x, %h, %down, %experts, %weights, %rows into %out {n_routed = 8 : i64}
      : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?xi32>
        into memref<?x96xf32>
  return
}
