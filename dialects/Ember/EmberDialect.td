//===- EmberDialect.td - the ember dialect -----------------*- tablegen -*-===//
#ifndef EMBER_DIALECT_TD
#define EMBER_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Ember_Dialect : Dialect {
  let name = "ember";
  let summary = "N-gram embeddings, the N-gram cache and MoE for embedding-scaled LLMs";
  let description = [{
    Ops of the LongCat-Flash-Lite graph that upstream dialects do not name:
    the N-gram cache (a token table written by position), the hashed n-gram
    ids, the multi-table row gather and the n-gram combine. Ops work on
    buffers (memrefs) in destination-passing style, so they lower straight to
    `scf.parallel` nests that feed both the CPU and the NVPTX pipelines.
  }];
  let cppNamespace = "::mlir::ember";
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

class Ember_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ember_Dialect, mnemonic, traits>;

def Ember_NgramConfigAttr : AttrDef<Ember_Dialect, "NgramConfig"> {
  let mnemonic = "ngram";
  let summary = "hashed n-gram embedding parameters (docs/design.md §2)";
  let description = [{
    `vocab` = V, `m` = ngram_vocab_size_ratio * V, `n` = emb_neighbor_num (N),
    `k` = emb_split_num (K), `eos` = the EOS id that ends a history segment.
    Table i = (n' - 2) * K + k' has M_i = m + 2 i + 1 rows.
  }];
  let parameters = (ins "int64_t":$vocab, "int64_t":$m, "int64_t":$n,
                        "int64_t":$k, "int64_t":$eos);
  let assemblyFormat =
      "`<` `vocab` `=` $vocab `,` `m` `=` $m `,` `n` `=` $n `,` `k` `=` $k `,` `eos` `=` $eos `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// E = K * (N - 1).
    int64_t getNumTables() const { return getK() * (getN() - 1); }
    /// M_i = m + 2 i + 1.
    int64_t getTableRows(int64_t table) const { return getM() + 2 * table + 1; }
    /// The n-gram order n' of table i (each order has K tables).
    int64_t getTableOrder(int64_t table) const { return table / getK() + 2; }
    /// Exclusive prefix sums of M_i: the tables' first rows in one concatenated table.
    llvm::SmallVector<int64_t> getRowOffsets() const;
    /// sum M_i = E m + E^2: the rows of the concatenated tables.
    int64_t getTotalRows() const { return getNumTables() * (getM() + getNumTables()); }
  }];
}

def Ember_GpuKernelAttr : AttrDef<Ember_Dialect, "GpuKernel"> {
  let mnemonic = "gpu_kernel";
  let summary = "how the GPU kernel configuration step mapped one ember op";
  let description = [{
    Set on the `gpu.module` of each kernel (by `ember-map-to-gpu`, from the
    launch `ember-gpu-strategies` built or from the loop nest it mapped).
    `op` and `index` name the ember op the kernel came from (its kernel
    index in its function, as the traffic model counts); `strategy` is the
    kernel strategy chosen for it (`thread_per_element`, `warp_per_row`,
    `block_per_row`, `block_split_k`, `split_kv` or `mma_sync_tile`;
    docs/gpu.md); `block` the threads per
    block (x, y, z); `grid_dims` and `thread_dims` the op's loop dimension
    (0 = outermost) each grid and thread axis (x, y, z) iterates, -1 for
    none (a reduction, a chunk). A dimension on a thread axis is tiled: its
    grid axis counts blocks of that many iterations.

    ```mlir
    #ember.gpu_kernel<op = "mla_absorb", index = 7,
        strategy = "thread_per_element", block = [32, 4, 1],
        grid_dims = [0, 2, 1], thread_dims = [2, 1, -1]>
    ```
  }];
  let parameters = (ins StringRefParameter<"ember op name">:$op, "int64_t":$index,
                        StringRefParameter<"kernel strategy">:$strategy,
                        ArrayRefParameter<"int64_t">:$block,
                        ArrayRefParameter<"int64_t">:$grid_dims,
                        ArrayRefParameter<"int64_t">:$thread_dims);
  let assemblyFormat = [{
    `<` `op` `=` $op `,` `index` `=` $index `,` `strategy` `=` $strategy `,`
    `block` `=` `[` $block `]` `,` `grid_dims` `=` `[` $grid_dims `]` `,`
    `thread_dims` `=` `[` $thread_dims `]` `>`
  }];
  let extraClassDeclaration = [{
    /// The name it goes by on a gpu.module (and, until ember-map-to-gpu
    /// moves it there, on a gpu.launch).
    static constexpr ::llvm::StringLiteral kAttrName = "ember.gpu_kernel";
  }];
  let genVerifyDecl = 1;
}

#endif // EMBER_DIALECT_TD
