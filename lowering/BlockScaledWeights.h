//===- BlockScaledWeights.h - reading FP8 block-scaled weights --*- C++ -*-===//
//
// The matmul ops take the weights of an FP8 checkpoint (docs/design.md §4)
// as F8E4M3FN, one byte per weight, with an f32 factor per [R, C] block of
// their last two dims (docs/dialect.md); the kernels dequantize as they read,
// streaming half the bytes of bf16. Both targets' loops read weights through
// these helpers.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_BLOCKSCALEDWEIGHTS_H
#define EMBER_LOWERING_BLOCKSCALEDWEIGHTS_H

#include "mlir/IR/Builders.h"
#include "llvm/Support/Alignment.h"

#include <optional>

namespace mlir::ember {

/// The block scales of an F8E4M3FN weight [..., rows, cols]: `scale` (f32)
/// [..., ceil(rows / R), ceil(cols / C)] for blocks of R x C. Empty (no
/// scale) for a weight of any other type.
struct BlockScales {
  Value scale;
  int64_t rows = 0, cols = 0;

  explicit operator bool() const { return bool(scale); }
  /// From an op's weight_scale operand and weight_block attribute.
  static BlockScales of(Value scale, std::optional<ArrayRef<int64_t>> block);
};

/// E4M3FN bytes (f8E4M3FN, or i8 holding their bits; a scalar or a vector)
/// as f32 times `factor`. The byte goes into an f16's bit pattern (the
/// sign, then exponent and mantissa shifted to f16's, with E4M3's exponent
/// bias 7 against f16's 15), is widened to f32 by the target's conversion
/// (subnormals exact), and the missing 2^8 is folded into `factor`. The NaN
/// bytes 0x7F / 0xFF read as +-480, not as NaN.
Value dequantizeE4M3FN(OpBuilder &b, Location loc, Value bytes, Value factor);

/// How a vector of E4M3FN bytes becomes f16 bit patterns.
enum class E4M3Unpacking {
  /// Byte by byte, in 16-bit lanes: SIMD targets (x86 widens 16 bytes in one
  /// instruction).
  PerByte,
  /// Four bytes at once in 32-bit words, two f16 patterns a word: targets
  /// with 32-bit registers (NVPTX), where the byte-wise form costs a byte
  /// extract and a shift per weight. A scalar, or a vector whose length is
  /// not a multiple of 4, goes byte by byte.
  PerWord,
};

/// dequantizeE4M3FN of a vector of bytes, unpacked as `unpacking` says;
/// the same values either way.
Value dequantizeE4M3FN(OpBuilder &b, Location loc, Value bytes, Value factor, E4M3Unpacking unpacking);

/// weight[indices] as f32: widened, or for an F8E4M3FN weight dequantized
/// and times its block's scale.
Value loadWeightF32(OpBuilder &b, Location loc, Value weight, const BlockScales &scales, ValueRange indices);

/// `lanes` consecutive elements weight[prefix..., k .. k + lanes) as a
/// vector of f32, dequantized like loadWeightF32; for block scales, `lanes`
/// must divide the block's columns and k be a multiple of `lanes`, so the
/// lanes share one scale. One load, `alignment` aligned where given.
Value loadWeightVectorF32(OpBuilder &b, Location loc, Value weight, const BlockScales &scales, ValueRange indices,
                          int64_t lanes, llvm::MaybeAlign alignment = {},
                          E4M3Unpacking unpacking = E4M3Unpacking::PerByte);

/// Whether a `lanes`-wide vector of the weight shares one scale.
inline bool scalesFitLanes(const BlockScales &scales, int64_t lanes) { return !scales || scales.cols % lanes == 0; }

} // namespace mlir::ember

#endif // EMBER_LOWERING_BLOCKSCALEDWEIGHTS_H
