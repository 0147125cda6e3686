//===- DecoderGraph.h - the LongCat-Flash-Lite decoder graph ----*- C++ -*-===//
#ifndef EMBER_MODELS_DECODERGRAPH_H
#define EMBER_MODELS_DECODERGRAPH_H

#include "models/NgramGraph.h"

#include "ember/model/Config.h"

namespace mlir::ember {

/// Builds the whole model of docs/design.md §3 for `config`: the public entry
/// points ember_embed, ember_forward, ember_step (= embed + forward) and
/// the MTP drafter ember_mtp (signatures in
/// models/spec/include/ember/model/ModelAbi.h, with the C interface), the
/// n-gram embedding entry points of NgramGraph.h, and one private
/// @ember_shortcut_layer function that every layer calls, so its kernels
/// are compiled once. Returns null after emitting an error when the config
/// cannot be built.
OwningOpRef<ModuleOp> buildDecoderModule(MLIRContext &context,
                                         const ::ember::ModelConfig &config,
                                         WeightType weightType);

/// The n-gram part of a config.
NgramGraphSpec ngramSpecOf(const ::ember::ModelConfig &config, WeightType weightType);

} // namespace mlir::ember

#endif // EMBER_MODELS_DECODERGRAPH_H
