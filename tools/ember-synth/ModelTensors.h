#pragma once

#include "ember/model/Config.h"
#include "ember/runtime/SafetensorsWriter.h"

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
};

// Every tensor of the whole model (docs/design.md §4 names, MTP block
// included), in file order: F32-only tensors first (so every tensor stays
// aligned without gaps), then the word embedding, the n-gram embedders
// 0..E-1 back to back, the post_projs 0..E-1 back to back, the layers,
// the final norm, lm_head and the MTP block.
std::vector<SynthTensor> modelTensors(const ember::ModelConfig &config, ember::DType dtype);

} // namespace ember::synth
