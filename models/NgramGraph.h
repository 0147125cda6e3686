//===- NgramGraph.h - the n-gram embedding graph ----------------*- C++ -*-===//
#ifndef EMBER_MODELS_NGRAMGRAPH_H
#define EMBER_MODELS_NGRAMGRAPH_H

#include "dialects/Ember/EmberDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::ember {

/// How an artifact's weights are stored. FP8 is the FP8 weight format of
/// ModelAbi.h: the matmul weights an FP8 release quantizes as F8E4M3FN with
/// their block scales, every other weight bf16.
enum class WeightType { F32, BF16, F16, FP8 };

/// What the n-gram embedding graph depends on (docs/design.md §2), taken from
/// config.json: sizes are all compile-time constants of the graph.
struct NgramGraphSpec {
  int64_t vocab = 0;      // V
  int64_t hidden = 0;     // D
  int64_t neighborNum = 0; // N
  int64_t splitNum = 0;   // K
  int64_t ngramVocab = 0; // m = ngram_vocab_size_ratio * V
  int64_t eos = 0;
  WeightType weightType = WeightType::BF16;
};

/// Entry points of the module, called through MLIR's C interface
/// (`_mlir_ciface_<name>`, memrefs passed as descriptor pointers):
///   ember_ngram_embed(tokens [T] i32, token_table [S, C] i32, slots [T] i32,
///                     positions [T] i32, embed_tokens [V, D],
///                     ngram_tables [sum M_i, D/E], post_projs [E, D, D/E],
///                     ids [T, E] i32 (out), embeddings [T, D] f32 (out))
///   ember_ngram_ids(token_table, slots, positions, ids [T, E] i32 (out))
/// T is the ids' row count; tokens[t] lies at token_table[slots[t],
/// positions[t]], its history at the positions before.
inline constexpr const char *kNgramEmbedFunction = "ember_ngram_embed";
inline constexpr const char *kNgramIdsFunction = "ember_ngram_ids";

/// Builds the module, or emits an error and returns null when the spec is
/// invalid (the ember verifiers say why).
OwningOpRef<ModuleOp> buildNgramEmbeddingModule(MLIRContext &context,
                                                const NgramGraphSpec &spec);
/// Adds both entry points to an existing module.
LogicalResult addNgramEmbeddingFunctions(ModuleOp module, const NgramGraphSpec &spec);

/// Emits the n-gram embedding of the T = dim(ids, 0) tokens, tokens[t]
/// already written at tokenTable[slots[t], positions[t]]: ids [T, E] and
/// embeddings [T, D] are written (docs/design.md §2); temporaries are freed
/// before it returns.
void buildNgramEmbedding(OpBuilder &b, Location loc, NgramConfigAttr config, Value tokens,
                         Value tokenTable, Value slots, Value positions, Value embed, Value tables,
                         Value projections, Value ids, Value embeddings);

/// The #ember.ngram attribute of a spec (not verified: see
/// addNgramEmbeddingFunctions, which checks it first).
NgramConfigAttr ngramConfigOf(MLIRContext &context, const NgramGraphSpec &spec);

Type weightElementType(OpBuilder &b, WeightType type);

/// A public function `name(inputs...)` with the C interface the runtime
/// calls; b's insertion point moves into its entry block.
func::FuncOp createEntryFunction(OpBuilder &b, Location loc, StringRef name, TypeRange inputs);

} // namespace mlir::ember

#endif // EMBER_MODELS_NGRAMGRAPH_H
