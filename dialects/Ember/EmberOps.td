//===- EmberOps.td - ember operations ----------------------*- tablegen -*-===//
#ifndef EMBER_OPS_TD
#define EMBER_OPS_TD

include "EmberDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "EmberInterfaces.td"

// Weights may be stored in f32, bf16 or f16; compute is always f32.
def Ember_WeightMemRef : MemRefOf<[F32, BF16, F16]>;
// The matmul weights an FP8 checkpoint quantizes may also stay F8E4M3FN
// (OCP E4M3FN), with a block-scale operand (`weight_scale`, f32: one factor
// per `weight_block` = [R, C] block of the last two dims); the kernels
// dequantize as they read (docs/dialect.md).
def Ember_QuantizableWeightMemRef : MemRefOf<[F32, BF16, F16, F8E4M3FN]>;
// Per-row coordinates of a step's T rows (tokens of any sequences): the
// slot (sequence) each row belongs to and its position in that sequence.
def Ember_RowIndexMemRef : MemRefRankOf<[I32], [1]>;

//===----------------------------------------------------------------------===//
// N-gram cache
//===----------------------------------------------------------------------===//

def Ember_CacheWriteOp : Ember_Op<"cache_write",
    [Ember_OwnTraffic, AllTypesMatch<["slots", "positions"]>]> {
  let summary = "write each row into a per-sequence cache at its slot and position";
  let description = [{
    Stores row `values[t]` at `cache[slots[t], positions[t]]` for the
    `T = dim(values, 0)` rows; `cache` is `[slots, max_context, ...]` with the
    trailing dims of `values`. The step's rows may belong to different
    sequences. It writes the N-gram cache (the token table `[slots,
    max_context]` that `ember.ngram_ids` reads) and the latent KV cache
    (`[slots, max_context, C + R]` that `ember.mla_attention` reads). A
    rejected draft needs no undo because the next write at that position
    overwrites it. Coordinates out of range are undefined behaviour; the
    runtime checks them before the call.

    ```mlir
    ember.cache_write %tokens into %table[%slots, %positions]
        : memref<?xi32>, memref<?xi32> into memref<4x4096xi32>
    ```
  }];
  let arguments = (ins Arg<AnyMemRef, "values [T, ...]", [MemRead]>:$values,
                       Arg<AnyMemRef, "cache [slots, max_context, ...]", [MemWrite]>:$cache,
                       Arg<Ember_RowIndexMemRef, "slot of each row [T]", [MemRead]>:$slots,
                       Arg<Ember_RowIndexMemRef, "position of each row [T]", [MemRead]>:$positions);
  let assemblyFormat = [{
    $values `into` $cache `[` $slots `,` $positions `]` attr-dict
    `:` type($values) `,` type($slots) `into` type($cache)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Ember_NgramIdsOp : Ember_Op<"ngram_ids",
    [Ember_OwnTraffic, AllTypesMatch<["slots", "positions"]>]> {
  let summary = "hashed n-gram ids of the tokens at given token-table coordinates";
  let description = [{
    For each of the `T = dim(ids, 0)` rows, the token at
    `table[slots[t], positions[t]]`, writes the `E = K (N - 1)` table-local ids
    (docs/design.md §2): `ids[t, i] = (sum_j h(t, j) * (V^j mod M_i)) mod M_i`
    over the n-gram of order n' ending at that token. History comes from the
    same table row (slot) at the positions before; positions before 0 and
    look-backs across an EOS that ends an earlier segment read 0. Arithmetic
    is 64-bit; the verifier proves it cannot wrap.

    ```mlir
    ember.ngram_ids %table[%slots, %positions] into %ids
        {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>}
        : memref<1x16xi32>, memref<?xi32> into memref<?x12xi32>
    ```
  }];
  let arguments = (ins Arg<I32MemRef, "token table", [MemRead]>:$table,
                       Arg<Ember_RowIndexMemRef, "slot of each row [T]", [MemRead]>:$slots,
                       Arg<Ember_RowIndexMemRef, "position of each row [T]", [MemRead]>:$positions,
                       Arg<I32MemRef, "ids [T, E]", [MemWrite]>:$ids,
                       Ember_NgramConfigAttr:$config);
  let assemblyFormat = [{
    $table `[` $slots `,` $positions `]` `into` $ids attr-dict
    `:` type($table) `,` type($slots) `into` type($ids)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Embedding gathers
//===----------------------------------------------------------------------===//

def Ember_MultiTableGatherOp : Ember_Op<"multi_table_gather", [Ember_OwnTraffic]> {
  let summary = "gather one row per (token, table) from concatenated tables";
  let description = [{
    `out[t, i, :] = f32(table[row_offsets[i] + ids[t, i], :])`. The E tables
    are stored as one `[R, W]` table; `row_offsets` are the exclusive prefix
    sums of the table row counts. Storage may be f32, bf16 or f16; rows are
    widened to f32. With `ngram`, the verifier also checks that the offsets and
    the row count R are those of the n-gram tables M_i. Ids should lie inside
    their table (`ember.ngram_ids` guarantees it, the runtime checks token
    ids); the lowering's `bounds-check` option says what happens otherwise.

    ```mlir
    ember.multi_table_gather %table[%ids] into %rows
        {row_offsets = array<i64: 0, 39937>}
        : memref<79876x24xbf16>, memref<?x2xi32> into memref<?x2x24xf32>
    ```
  }];
  let arguments = (ins Arg<Ember_WeightMemRef, "table [R, W]", [MemRead]>:$table,
                       Arg<I32MemRef, "ids [T, E]", [MemRead]>:$ids,
                       Arg<F32MemRef, "rows [T, E, W]", [MemWrite]>:$out,
                       DenseI64ArrayAttr:$row_offsets,
                       OptionalAttr<Ember_NgramConfigAttr>:$ngram);
  let assemblyFormat = [{
    $table `[` $ids `]` `into` $out attr-dict
    `:` type($table) `,` type($ids) `into` type($out)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Ember_NgramCombineOp : Ember_Op<"ngram_combine", [Ember_OwnTraffic]> {
  let summary = "project n-gram rows, add the word embedding, take the mean";
  let description = [{
    `out[t, d] = (word[t, d] + sum_i sum_w proj[i, d, w] * rows[t, i, w]) / (1 + E)`
    with `proj[i]` the `[D, W]` post-projection of table i (HF Linear layout).
    One op rather than upstream linalg so the fusion passes see the whole
    mean-of-projections as one unit (see docs/dialect.md).

    ```mlir
    ember.ngram_combine %word, %rows, %proj into %out
        : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x96x8xbf16> into memref<?x96xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "word embedding rows [T, D]", [MemRead]>:$word,
                       Arg<F32MemRef, "n-gram rows [T, E, W]", [MemRead]>:$rows,
                       Arg<Ember_WeightMemRef, "projections [E, D, W]", [MemRead]>:$projections,
                       Arg<F32MemRef, "embeddings [T, D]", [MemWrite]>:$out);
  let assemblyFormat = [{
    $word `,` $rows `,` $projections `into` $out attr-dict
    `:` type($word) `,` type($rows) `,` type($projections) `into` type($out)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

include "EmberDenseOps.td"
include "EmberAttentionOps.td"
include "EmberMoeOps.td"
include "EmberFusedOps.td"

#endif // EMBER_OPS_TD
