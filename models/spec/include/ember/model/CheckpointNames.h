#pragma once

#include <cstdint>
#include <string>

namespace ember {

// Official checkpoint names of the embedding tensors (docs/design.md §4).
inline constexpr char kWordEmbeddingName[] = "model.embed_tokens.weight";

inline std::string ngramEmbedderName(int64_t table) {
  return "model.ngram_embeddings.embedders." + std::to_string(table) + ".weight";
}

inline std::string ngramPostProjName(int64_t table) {
  return "model.ngram_embeddings.post_projs." + std::to_string(table) + ".weight";
}

// The block scales of an F8_E4M3 weight in an FP8 checkpoint
// (quantization_config, Fp8BlockQuantization).
inline std::string fp8ScaleName(const std::string &weight) { return weight + "_scale_inv"; }

} // namespace ember
