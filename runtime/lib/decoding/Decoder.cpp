#include "ember/runtime/Decoder.h"
#include "ember/runtime/ModelStamp.h"

#include "ember/model/Error.h"
#include "ember/runtime/FiniteChecks.h"
#include "ember/runtime/KernelProfile.h"
#include "ember/model/ModelAbi.h"
#include "ember/runtime/NgramEmbedding.h"

#include <algorithm>
#include <functional>
#include <future>
#include <set>

namespace ember::rt {

static PackedFn entryPoint(const SharedLibrary &library, const char *function) {
  return reinterpret_cast<PackedFn>(library.symbol(std::string(function) + kPackedSuffix));
}

static std::unique_ptr<SharedLibrary> openStamped(Backend &backend, const std::string &path, const ModelConfig &config,
                                                  DType weights) {
  checkModelStamp(path, config, weights);
  return backend.openArtifact(path);
}

DecoderArtifact::DecoderArtifact(Backend &backend, const std::string &path, const ModelConfig &config, DType weights)
    : library_(openStamped(backend, path, config, weights)) {
  step = entryPoint(*library_, kStepFunction);
  embed = entryPoint(*library_, kEmbedFunction);
  forward = entryPoint(*library_, kForwardFunction);
  mtp = entryPoint(*library_, kMtpFunction);
}

int64_t contextLimit(const ModelConfig &config, int64_t maxContext) {
  if (maxContext < 1)
    throw Error("--max-context must be at least 1, got " + std::to_string(maxContext));
  return std::min(config.maxPositionEmbeddings, maxContext);
}

static std::string contextLimitText(const ModelConfig &config, int64_t maxContext) {
  return "the context limit of " + std::to_string(contextLimit(config, maxContext)) + " (max_position_embeddings " +
         std::to_string(config.maxPositionEmbeddings) + ", --max-context " + std::to_string(maxContext) + ")";
}

void checkFitsContext(const ModelConfig &config, int64_t maxContext, int64_t promptTokens, int64_t maxNewTokens) {
  int64_t limit = contextLimit(config, maxContext);
  if (promptTokens > limit)
    throw Error("prompt of " + std::to_string(promptTokens) + " tokens exceeds " +
                contextLimitText(config, maxContext));
  int64_t positions = 0;
  if (__builtin_add_overflow(promptTokens, std::max<int64_t>(maxNewTokens - 1, 0), &positions) || positions > limit)
    throw Error("prompt of " + std::to_string(promptTokens) + " tokens plus " + std::to_string(maxNewTokens) +
                " new tokens needs " + (positions > 0 ? std::to_string(positions) : "more than 2^63") +
                " positions, more than " + contextLimitText(config, maxContext));
}

uint64_t sequenceStateBytes(const ModelConfig &config, int64_t maxContext, int64_t slots, bool drafter,
                            uint64_t capacity) {
  if (slots < 1)
    throw Error("--batch must be at least 1, got " + std::to_string(slots));
  int64_t context = contextLimit(config, maxContext);
  // Rows of [slots, context] state: the token table (i32) and one float row
  // per KV sublayer (and the drafter's).
  uint64_t cacheRows = uint64_t(kvCacheSublayers(config)) + (drafter ? 1 : 0), total = 0, sequences = 0;
  bool overflow = __builtin_mul_overflow(uint64_t(slots), uint64_t(context), &sequences);
  uint64_t rowBytes = uint64_t(kvCacheRowWidth(config)) * sizeof(float), perPosition = 0;
  overflow |= __builtin_mul_overflow(cacheRows, rowBytes, &perPosition) ||
              __builtin_add_overflow(perPosition, uint64_t(sizeof(int32_t)), &perPosition) ||
              __builtin_mul_overflow(sequences, perPosition, &total);
  std::string what = "--batch " + std::to_string(slots) + " sequences of " + std::to_string(context) +
                     " positions need ";
  if (overflow)
    throw Error(what + "more than 2^64 bytes of KV cache and token table");
  if (capacity && total > capacity)
    throw Error(what + std::to_string(total) + " bytes of KV cache and token table, more than the " +
                std::to_string(capacity) + " bytes of memory the backend has");
  return total;
}

namespace {

int64_t product(const Shape &shape) {
  int64_t count = 1;
  for (int64_t size : shape)
    count *= size;
  return count;
}

// Staging sets kept at once: a few entry points at a few row counts.
constexpr size_t kMaxStagingSets = 16;

// The arguments of one call of `function` on `rows`. Host tensors go straight
// to the artifact when the backend's memory is host memory; otherwise they
// are staged through device buffers and outputs copied back after. With
// `staging`, a call of up to kMaxRepeatedRows rows takes the buffers the last
// such call left there and leaves its own: its arguments repeat.
class Call {
public:
  Call(Backend &backend, ArtifactCalls &calls, PackedFn function, const StepRows &rows, CallStaging *staging)
      : backend_(backend), calls_(calls), function_(function), rows_(int64_t(rows.positions.size())),
        start_(modelledStart(rows)),
        staging_(staging && !backend.hostAccessible() && rows_ <= kMaxRepeatedRows ? staging : nullptr) {
    if (!staging_)
      return;
    std::lock_guard<std::mutex> lock(staging_->mutex);
    if (auto idle = staging_->idle.find({function_, rows_}); idle != staging_->idle.end()) {
      scratch_ = std::move(idle->second);
      staging_->idle.erase(idle);
    }
  }
  ~Call() {
    if (!staging_ || !finished_)
      return;
    std::lock_guard<std::mutex> lock(staging_->mutex);
    if (staging_->idle.size() >= kMaxStagingSets)
      staging_->idle.erase(staging_->idle.begin());
    staging_->idle.emplace(std::make_pair(function_, rows_), std::move(scratch_)); // kept if another call left one
  }

  template <typename T> void input(const std::vector<T> &host, const Shape &shape) {
    args_.addMemRef(stage(host.data(), product(shape) * sizeof(T), false), shape);
  }
  template <typename T> void output(std::vector<T> &host, const Shape &shape) {
    host.resize(size_t(product(shape)));
    void *device = stage(host.data(), host.size() * sizeof(T), true);
    if (device != host.data())
      readbacks_.push_back([this, device, &host] { backend_.copyToHost(host.data(), device, host.size() * sizeof(T)); });
    args_.addMemRef(device, shape);
  }
  void state(const DeviceBuffer &buffer, const Shape &shape) { args_.addMemRef(buffer.data(), shape); }
  // The rows' slots and positions (ModelAbi.h), after their tokens or
  // embeddings.
  void coordinates(const StepRows &rows) {
    input(rows.slots, {rows_});
    input(rows.positions, {rows_});
  }
  void weights(const PackedArgs &weights) { args_.addAll(weights); }

  void run() {
    {
      ArtifactCallScope scope(rows_, start_); // the kernel profile's modelled bytes
      calls_.run(function_, args_, staging_ != nullptr);
    }
    for (const auto &readback : readbacks_)
      readback();
    finished_ = true;
  }

private:
  // The kernel profile models T rows after P cached positions: P such that
  // P + T is the most rows any row attends to (start, for one sequence).
  static int64_t modelledStart(const StepRows &rows) {
    int32_t last = rows.positions.empty() ? 0 : *std::max_element(rows.positions.begin(), rows.positions.end());
    return std::max<int64_t>(0, int64_t(last) + 1 - int64_t(rows.positions.size()));
  }

  void *stage(const void *host, size_t bytes, bool isOutput) {
    if (backend_.hostAccessible())
      return const_cast<void *>(host);
    size_t index = staged_++;
    if (index == scratch_.size())
      scratch_.emplace_back();
    if (scratch_[index].bytes() != bytes || !scratch_[index].data())
      scratch_[index] = DeviceBuffer(backend_, bytes, isOutput ? "a call's output" : "a call's input");
    if (!isOutput)
      backend_.copyToDevice(scratch_[index].data(), host, bytes);
    return scratch_[index].data();
  }

  Backend &backend_;
  ArtifactCalls &calls_;
  PackedFn function_;
  int64_t rows_, start_;
  CallStaging *staging_;
  PackedArgs args_;
  std::vector<DeviceBuffer> scratch_;
  size_t staged_ = 0;
  bool finished_ = false;
  std::vector<std::function<void()>> readbacks_;
};

} // namespace

// A weight already in host memory (mapped from the checkpoint) is passed as
// it lies where the backend runs on the host; every other one is streamed
// from the checkpoint into backend memory of its placement.
Decoder::BoundWeights Decoder::bind(const std::vector<ModelWeights::Weight> &weights, size_t begin, size_t end) {
  BoundWeights bound;
  for (size_t i = begin; i < end; ++i) {
    const ModelWeights::Weight &weight = weights[i];
    const ConcatenatedRows &buffer = weight.buffer;
    std::string pieces = dtypeName(buffer.dtype());
    for (const AbiPiece &piece : weight.abi.pieces)
      pieces += "\n" + piece.name;
    if (auto shared = boundByPieces_.find(pieces); shared != boundByPieces_.end() && !weight.abi.pieces.empty()) {
      bound.args.addMemRef(shared->second, weight.abi.shape); // placed once, for the target
      continue;
    }
    if (backend_.hostAccessible() && buffer.isZeroCopy()) {
      bound.args.addMemRef(buffer.data(), weight.abi.shape);
      boundByPieces_[pieces] = buffer.data();
      weightBytes_.mapped += buffer.nbytes();
      continue;
    }
    Placement placement = weight.abi.gathered ? tables_ : Placement::Device;
    auto *target = static_cast<std::byte *>(
        bound.uploads.emplace_back(backend_, buffer.nbytes(), weight.abi.name, placement).data());
    try {
      buffer.streamTo([&](size_t offset, const std::byte *data, size_t bytes) {
        backend_.copyToDevice(target + offset, data, bytes);
      });
    } catch (const Error &error) {
      throw Error("loading " + weight.abi.name + " into " + placementName(placement) + " memory: " + error.what());
    }
    (placement == Placement::Host ? weightBytes_.host : weightBytes_.device) += buffer.nbytes();
    bound.args.addMemRef(target, weight.abi.shape);
    boundByPieces_[pieces] = target;
  }
  return bound;
}

Decoder::Decoder(const ModelConfig &config, const ModelWeights &weights, const std::string &artifactPath,
                 Backend &backend, const DecoderOptions &options, const ModelWeights *mtpWeights)
    : config_(config), backend_(backend), artifact_(backend, artifactPath, config, weights.dtype()),
      calls_(backend.artifactCalls(options.cudaGraphs)), weightsDType_(weights.dtype()),
      checkedArtifact_(options.checkedArtifact), maxContext_(options.maxContext),
      context_(contextLimit(config, options.maxContext)), slots_(options.slots), prefillChunk_(options.prefillChunk),
      tables_(options.tables) {
  sequenceStateBytes(config, maxContext_, slots_, mtpWeights != nullptr, backend.memoryCapacityBytes());
  if (prefillChunk_ < 0)
    throw Error("--prefill-chunk must be >= 0 (0: the whole prompt in one call), got " +
                std::to_string(prefillChunk_));
  int64_t row = kvCacheRowWidth(config);
  tokenTable_ = DeviceBuffer(backend, size_t(slots_ * context_) * sizeof(int32_t), "the N-gram token table");
  kvCache_ = DeviceBuffer(backend, size_t(kvCacheSublayers(config) * slots_ * context_ * row) * sizeof(float),
                          "the latent KV cache");
  const auto &all = weights.weights();
  embeddingWeights_ = bind(all, 0, kEmbeddingWeights);
  layerWeights_ = bind(all, kEmbeddingWeights, all.size());
  allWeights_.addAll(embeddingWeights_.args);
  allWeights_.addAll(layerWeights_.args);
  if (mtpWeights) {
    mtpWeights_ = bind(mtpWeights->weights(), 0, mtpWeights->weights().size());
    mtpCache_ = DeviceBuffer(backend, size_t(slots_ * context_ * row) * sizeof(float), "the MTP drafter's KV cache");
  }
}

void StepRows::append(int64_t slot, const std::vector<int32_t> &run, int64_t start) {
  for (size_t i = 0; i < run.size(); ++i) {
    tokens.push_back(run[i]);
    slots.push_back(int32_t(slot));
    positions.push_back(int32_t(start + int64_t(i)));
  }
}

void StepRows::append(const StepRows &other) {
  tokens.insert(tokens.end(), other.tokens.begin(), other.tokens.end());
  slots.insert(slots.end(), other.slots.begin(), other.slots.end());
  positions.insert(positions.end(), other.positions.begin(), other.positions.end());
}

StepRows StepRows::of(int64_t slot, const std::vector<int32_t> &run, int64_t start) {
  StepRows rows;
  rows.append(slot, run, start);
  return rows;
}

void Decoder::checkRows(const StepRows &rows, const char *what, bool readsTokens) const {
  std::string call = std::string("decoder ") + what;
  if (rows.positions.empty())
    throw Error(call + ": no tokens given (at least one is needed)");
  if (rows.slots.size() != rows.positions.size() || (readsTokens && rows.tokens.size() != rows.positions.size()))
    throw Error(call + ": " + std::to_string(rows.tokens.size()) + " tokens, " + std::to_string(rows.slots.size()) +
                " slots and " + std::to_string(rows.positions.size()) + " positions; expected one of each per row");
  std::set<std::pair<int32_t, int32_t>> seen;
  for (size_t t = 0; t < rows.positions.size(); ++t) {
    int32_t slot = rows.slots[t], position = rows.positions[t];
    std::string row = call + ": row " + std::to_string(t) + " of " + std::to_string(rows.positions.size()) + ": ";
    if (slot < 0 || slot >= slots_)
      throw Error(row + "slot " + std::to_string(slot) + " is out of range [0, " + std::to_string(slots_) + ")");
    if (position < 0 || position >= context_)
      throw Error(row + "position " + std::to_string(position) + " is outside " +
                  contextLimitText(config_, maxContext_));
    if (!seen.insert({slot, position}).second)
      throw Error(row + "slot " + std::to_string(slot) + " position " + std::to_string(position) +
                  " is given twice");
    if (readsTokens && (rows.tokens[t] < 0 || rows.tokens[t] >= config_.vocabSize))
      throw Error(row + "token id " + std::to_string(rows.tokens[t]) + " (slot " + std::to_string(slot) +
                  ", position " + std::to_string(position) + ") is out of range [0, " +
                  std::to_string(config_.vocabSize) + ")");
  }
}

DecoderOutput Decoder::prefill(int64_t slot, const std::vector<int32_t> &tokens, int64_t start) {
  auto total = int64_t(tokens.size());
  if (start + total > context_)
    throw Error("prompt of " + std::to_string(start + total) + " tokens exceeds " +
                contextLimitText(config_, maxContext_));
  if (prefillChunk_ == 0 || total <= prefillChunk_)
    return step(slot, tokens, start);
  auto chunkAt = [&](int64_t offset) {
    return StepRows::of(slot, {tokens.begin() + offset, tokens.begin() + std::min(offset + prefillChunk_, total)},
                        start + offset);
  };
  // ember_embed writes table rows that ember_forward never reads, so the
  // next chunk's embedding may overlap this chunk's layers.
  DecoderOutput result;
  EmbeddingQueue embeddings(*this);
  embeddings.push(chunkAt(0));
  for (int64_t offset = 0; offset < total; offset += prefillChunk_) {
    std::vector<float> chunk = embeddings.pop();
    if (offset + prefillChunk_ < total)
      embeddings.push(chunkAt(offset + prefillChunk_));
    DecoderOutput part = forward(chunkAt(offset), chunk);
    result.logits.insert(result.logits.end(), part.logits.begin(), part.logits.end());
    result.hidden.insert(result.hidden.end(), part.hidden.begin(), part.hidden.end());
  }
  return result;
}

DecoderOutput Decoder::step(int64_t slot, const std::vector<int32_t> &tokens, int64_t start) {
  return step(StepRows::of(slot, tokens, start));
}

DecoderOutput Decoder::step(const StepRows &rows) { return runStep(artifact_.step, rows); }

std::optional<std::string> Decoder::findFirstNonFinite(int64_t slot, const std::vector<int32_t> &tokens) {
  if (!checkedArtifact_)
    return std::nullopt;
  DecoderArtifact checked(backend_, checkedArtifact_(), config_, weightsDType_);
  resetFiniteChecks();
  runStep(checked.step, StepRows::of(slot, tokens, 0), /*repeats=*/false); // a one-off artifact
  return firstNonFiniteOutput().value_or("every op output was finite");
}

DecoderOutput Decoder::runStep(PackedFn function, const StepRows &rows, bool repeats) {
  checkRows(rows, "step", true);
  auto count = int64_t(rows.size());
  DecoderOutput result;
  Call call(backend_, *calls_, function, rows, repeats ? staging_.get() : nullptr);
  call.input(rows.tokens, {count});
  call.coordinates(rows);
  call.state(tokenTable_, {slots_, context_});
  call.state(kvCache_, {kvCacheSublayers(config_), slots_, context_, kvCacheRowWidth(config_)});
  call.output(result.logits, {count, config_.vocabSize});
  call.output(result.hidden, {count, config_.hiddenSize});
  call.weights(allWeights_);
  call.run();
  return result;
}

std::vector<float> Decoder::embed(const StepRows &rows) {
  checkRows(rows, "embed", true);
  auto count = int64_t(rows.size());
  std::vector<float> embeddings;
  Call call(backend_, *calls_, artifact_.embed, rows, staging_.get());
  call.input(rows.tokens, {count});
  call.coordinates(rows);
  call.state(tokenTable_, {slots_, context_});
  call.output(embeddings, {count, config_.hiddenSize});
  call.weights(embeddingWeights_.args);
  call.run();
  return embeddings;
}

DecoderOutput Decoder::forward(const StepRows &rows, const std::vector<float> &embeddings) {
  checkRows(rows, "forward", false);
  auto count = int64_t(rows.positions.size());
  if (embeddings.size() != size_t(count * config_.hiddenSize))
    throw Error("decoder forward: " + std::to_string(embeddings.size()) + " embedding values for " +
                std::to_string(count) + " rows of " + std::to_string(config_.hiddenSize));
  DecoderOutput result;
  Call call(backend_, *calls_, artifact_.forward, rows, staging_.get());
  call.input(embeddings, {count, config_.hiddenSize});
  call.coordinates(rows);
  call.state(kvCache_, {kvCacheSublayers(config_), slots_, context_, kvCacheRowWidth(config_)});
  call.output(result.logits, {count, config_.vocabSize});
  call.output(result.hidden, {count, config_.hiddenSize});
  call.weights(layerWeights_.args);
  call.run();
  return result;
}

DecoderOutput Decoder::draft(const StepRows &rows, const std::vector<float> &hiddenIn) {
  if (!mtpWeights_)
    throw Error("decoder draft: no MTP weights were bound (the checkpoint has no model.mtp.* tensors?)");
  checkRows(rows, "draft", true);
  auto count = int64_t(rows.size());
  if (hiddenIn.size() != size_t(count * config_.hiddenSize))
    throw Error("decoder draft: hidden_in has " + std::to_string(hiddenIn.size()) + " values, expected " +
                std::to_string(count) + " x " + std::to_string(config_.hiddenSize));
  DecoderOutput result;
  Call call(backend_, *calls_, artifact_.mtp, rows, staging_.get());
  call.input(rows.tokens, {count});
  call.coordinates(rows);
  call.input(hiddenIn, {count, config_.hiddenSize});
  call.state(mtpCache_, {1, slots_, context_, kvCacheRowWidth(config_)});
  call.output(result.logits, {count, config_.vocabSize});
  call.output(result.hidden, {count, config_.hiddenSize});
  call.weights(mtpWeights_->args);
  call.run();
  return result;
}

void EmbeddingQueue::push(StepRows rows) {
  std::shared_future<std::vector<float>> previous = pending_.empty() ? decltype(previous)() : pending_.back();
  auto embed = [&decoder = decoder_, previous, rows = std::move(rows)] {
    if (previous.valid())
      previous.wait(); // its error, if any, reaches the caller through pop()
    return decoder.embed(rows);
  };
  pending_.push_back(std::async(std::launch::async, std::move(embed)).share());
}

std::vector<float> EmbeddingQueue::pop() {
  if (pending_.empty())
    throw Error("EmbeddingQueue::pop: nothing was pushed");
  std::shared_future<std::vector<float>> oldest = std::move(pending_.front());
  pending_.pop_front();
  return oldest.get();
}

int32_t greedyToken(const float *logits, int64_t count) {
  int64_t best = 0;
  for (int64_t i = 1; i < count; ++i)
    if (logits[i] > logits[best])
      best = i;
  return int32_t(best);
}

} // namespace ember::rt
