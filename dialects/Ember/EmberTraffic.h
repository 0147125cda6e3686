//===- EmberTraffic.h - the context of TrafficOpInterface --------*- C++ -*-===//
//
// What an op's traffic model (EmberInterfaces.td) reports to: the step being
// modelled (T new tokens after P cached ones) and per-class byte counters.
// passes/TrafficModel.cpp implements it for a whole decode step.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_DIALECTS_EMBER_EMBERTRAFFIC_H
#define EMBER_DIALECTS_EMBER_EMBERTRAFFIC_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

#include <array>
#include <optional>

namespace mlir::ember {

/// Weights: checkpoint tensors read by a kernel (only the slices it uses).
/// Ngram: rows gathered from embedding tables (n-gram and word embedding).
/// Kv: the latent KV cache. Activations: everything else (temporaries,
/// the residual stream, token ids, logits).
enum class TrafficClass : unsigned { Weights, Ngram, Kv, Activations };
inline constexpr unsigned kNumTrafficClasses = 4;
llvm::StringRef trafficClassName(TrafficClass cls);

/// Bytes read and written, per class.
struct TrafficBytes {
  std::array<int64_t, kNumTrafficClasses> read{}, written{};

  int64_t bytes(TrafficClass cls) const {
    return read[unsigned(cls)] + written[unsigned(cls)];
  }
  int64_t total() const;
  TrafficBytes &operator+=(const TrafficBytes &other);
};

/// Bytes per element of a memref (f32/i32 4, bf16/f16 2, ...).
int64_t elementBytes(Value memref);

class TrafficContext {
public:
  TrafficContext(int64_t tokens, int64_t position, int64_t sequences = 1)
      : tokens(tokens), position(position), sequences(sequences) {}
  virtual ~TrafficContext();

  /// T: the tokens the step processes (the batch of a decode step).
  const int64_t tokens;
  /// P: the cached positions before them (what attention reads besides T).
  const int64_t position;
  /// S: the sequences the T tokens belong to, each after P cached positions
  /// of its own (a batched decode step: S = T; a prompt's chunk: 1).
  const int64_t sequences;

  /// The sizes of `memref`, its dynamic ones resolved for this step.
  virtual llvm::SmallVector<int64_t> shape(Value memref) = 0;
  /// The class of the buffer `memref` views, when the op does not name it:
  /// the class an op that knows the buffer's role gave it (a rms_norm
  /// writing into the buffer that mla_attention reads as the KV cache
  /// writes KV), else weights for a floating-point argument of the step
  /// that no kernel writes, else activations.
  virtual TrafficClass classOf(Value memref) = 0;
  /// Counts `bytes` of `memref` as read / written by the current kernel: as
  /// `cls` where the op knows the operand's role (the buffer is then
  /// remembered as that class), else as classOf(memref).
  virtual void read(Value memref, int64_t bytes, std::optional<TrafficClass> cls = {}) = 0;
  virtual void write(Value memref, int64_t bytes, std::optional<TrafficClass> cls = {}) = 0;

  int64_t numElements(Value memref);
  int64_t bytesOf(Value memref) { return numElements(memref) * elementBytes(memref); }
  void readAll(Value memref, std::optional<TrafficClass> cls = {}) {
    read(memref, bytesOf(memref), cls);
  }
  void writeAll(Value memref, std::optional<TrafficClass> cls = {}) {
    write(memref, bytesOf(memref), cls);
  }
};

/// TrafficOpInterface's default: every memref operand read (written) whole
/// as the op's MemRead (MemWrite) effects say, classed by classOf.
void addTrafficFromEffects(Operation *op, TrafficContext &ctx);

} // namespace mlir::ember

#endif // EMBER_DIALECTS_EMBER_EMBERTRAFFIC_H
