#pragma once

#include "ember/model/Config.h"
#include "ember/runtime/SafetensorsWriter.h"

#include <optional>
#include <vector>

namespace ember::synth {

// One checkpoint tensor and the distribution its synthetic values come from:
// mean + stddev * N(0, 1).
struct SynthTensor {
  rt::TensorSpec spec;
  double mean;
  double stddev;
  // Must share a shard with the tensor before it (the n-gram tables and
  // projections, so the runtime can use each group without copying).
  bool keepWithPrevious = false;
  // In an FP8 checkpoint (config.fp8), a quantized linear weight and its
  // block scales are both drawn from the weight's values (`source`, with the
  // weight's mean and stddev): the F8_E4M3 values, or, with `scales`, the
  // F32 `_scale_inv` tensor.
  struct Fp8Source {
    std::string weight;
    Shape shape;
    bool scales = false;
  };
  std::optional<Fp8Source> fp8;
};

// Every tensor of the whole model (docs/design.md §4 names, MTP block
// included), in file order, by element size so every tensor stays aligned
// without gaps: F32 tensors first (the router biases, FP8 block scales),
// then those in `dtype`: the word embedding, the n-gram embedders 0..E-1
// back to back, the post_projs 0..E-1 back to back, the layers, the final
// norm, lm_head and the MTP block; F8_E4M3 weights last. With config.fp8
// the attention projections and the dense and expert MLPs (MTP's too) are
// F8_E4M3 with block scales, as in the FP8 release; everything else is in
// `dtype`.
std::vector<SynthTensor> modelTensors(const ember::ModelConfig &config, ember::DType dtype);

} // namespace ember::synth
