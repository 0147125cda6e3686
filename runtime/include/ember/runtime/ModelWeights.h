#pragma once

#include "ember/runtime/ConcatenatedRows.h"
#include "ember/model/Config.h"
#include "ember/model/ModelAbi.h"
#include "ember/runtime/Safetensors.h"

#include <optional>
#include <vector>

namespace ember::rt {

// The weight arguments of the compiled decoder, modelWeights(config), bound to
// a checkpoint: every piece is shape-checked, and each argument is one buffer
// of the artifact's weight dtype (f32 where alwaysF32) — a view of the mapped
// file when its pieces already lie there back to back in that dtype, else
// streamed (ConcatenatedRows::streamTo) straight to where the Decoder places
// it, with no host copy of its own. F8_E4M3 pieces of an FP8 checkpoint
// are dequantized with their `_scale_inv` blocks on the way (BlockScales);
// their scales are checked here. Extra checkpoint tensors (e.g. model.mtp.*)
// are ignored. Valid while the Checkpoint lives.
class ModelWeights {
public:
  // The weight dtype is the checkpoint's: checkpointWeightDType().
  ModelWeights(const ModelConfig &config, const Checkpoint &checkpoint);
  // `dtype` F8E4M3 is the FP8 weight format (ModelAbi.h): the quantized
  // weights as the checkpoint's F8_E4M3 bytes (which it must hold), their
  // block scales in f32 after the last weight, the rest bf16.
  ModelWeights(const ModelConfig &config, const Checkpoint &checkpoint, DType dtype);
  // modelWeights(config) with random values generated as they are loaded,
  // with no checkpoint: benchmarks of models no disk here holds (the whole
  // LongCat-Flash-Lite is 137 GB in bf16). Values are uniform with the
  // spread that keeps activations O(1), as ember-synth's: standard
  // deviation 1/sqrt(in) for matrices, 0.5 for the word embedding and
  // n-gram tables, 1 +- 0.05 for norms, 0.01 for the router's bias. Element
  // i of weight w depends only on (seed, w, i).
  static ModelWeights random(const ModelConfig &config, DType dtype, uint64_t seed);
  // Any argument list, e.g. mtpWeights(config, ...).
  ModelWeights(const ModelConfig &config, std::vector<AbiWeight> abi, const Checkpoint &checkpoint, DType dtype);

  struct Weight {
    AbiWeight abi;
    ConcatenatedRows buffer; // abi.shape in buffer.dtype(); deferred unless a view
  };
  const std::vector<Weight> &weights() const { return weights_; }
  DType dtype() const { return dtype_; }
  size_t mappedBytes() const; // views of the checkpoint
  size_t copiedBytes() const; // to be gathered or converted on their way to backend memory
  size_t dequantizedBytes() const { return dequantizedBytes_; } // of those, what FP8 pieces become

private:
  explicit ModelWeights(DType dtype) : dtype_(dtype) {}
  std::vector<Weight> weights_;
  DType dtype_;
  size_t dequantizedBytes_ = 0;
};

// The MTP drafter's weights (mtpWeights) in `dtype` (F8E4M3: the FP8 weight
// format, as the target's), or nothing when the checkpoint has no
// model.mtp.* tensors at all; throws listing the missing ones when it has
// only some.
std::optional<ModelWeights> loadMtpWeights(const ModelConfig &config, const Checkpoint &checkpoint, DType dtype);

// The dtype an artifact for this checkpoint is compiled for: that of
// model.embed_tokens.weight, which must not be F8_E4M3 (FP8 releases keep
// it in BF16).
DType checkpointWeightDType(const Checkpoint &checkpoint);

// Throws one error naming the model directory and the tensors of `weights`
// the checkpoint lacks (the first 20, then "and N more").
void checkNoMissingTensors(const std::vector<AbiWeight> &weights, const Checkpoint &checkpoint);

} // namespace ember::rt
