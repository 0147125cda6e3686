//===- BlockScaledWeights.cpp - reading FP8 block-scaled weights ----------===//
#include "lowering/BlockScaledWeights.h"
#include "lowering/LoopBuilders.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::ember;

BlockScales BlockScales::of(Value scale, std::optional<ArrayRef<int64_t>> block) {
  if (!scale || !block || block->size() != 2)
    return {};
  return {scale, (*block)[0], (*block)[1]};
}

/// `value` of `type`'s element type, splat where `type` is a vector.
static Value constantLike(OpBuilder &b, Location loc, Type type, Attribute value) {
  if (auto vector = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vector, value));
  return arith::ConstantOp::create(b, loc, cast<TypedAttr>(value));
}

/// `type` with its (element) type replaced by `element`.
static Type withElement(Type type, Type element) {
  if (auto vector = dyn_cast<VectorType>(type))
    return vector.clone(element);
  return element;
}

/// `bytes` (f8E4M3FN or i8) as i8.
static Value asBytes(OpBuilder &b, Location loc, Value bytes) {
  Type type = bytes.getType();
  if (getElementTypeOrSelf(type).isInteger(8))
    return bytes;
  return arith::BitcastOp::create(b, loc, withElement(type, b.getI8Type()), bytes);
}

/// f16 bit patterns (a scalar or a vector) widened to f32 and times
/// `factor` and the 2^(15 - 7) between the exponent biases.
static Value widenScaled(OpBuilder &b, Location loc, Value halves, Value factor) {
  Type f32 = withElement(halves.getType(), b.getF32Type());
  Value widened = arith::ExtFOp::create(b, loc, f32, halves);
  Value scaled = arith::MulFOp::create(b, loc, factor, f32Constant(b, loc, 256.0));
  if (isa<VectorType>(f32))
    scaled = vector::BroadcastOp::create(b, loc, f32, scaled);
  return arith::MulFOp::create(b, loc, widened, scaled);
}

Value mlir::ember::dequantizeE4M3FN(OpBuilder &b, Location loc, Value bytes, Value factor) {
  Type type = bytes.getType();
  bytes = asBytes(b, loc, bytes);
  Type i16 = withElement(type, b.getI16Type());
  // Sign-extended, the sign lands in bit 15 (and 14, which the mask clears);
  // exponent and mantissa in bits 13..7, where f16 keeps its top 4 exponent
  // and 3 mantissa bits.
  Value shifted = arith::ShLIOp::create(b, loc, arith::ExtSIOp::create(b, loc, i16, bytes),
                                        constantLike(b, loc, i16, b.getI16IntegerAttr(7)));
  Value bits = arith::AndIOp::create(b, loc, shifted, constantLike(b, loc, i16, b.getI16IntegerAttr(0xBF80)));
  return widenScaled(b, loc, arith::BitcastOp::create(b, loc, withElement(type, b.getF16Type()), bits), factor);
}

/// Four E4M3FN bytes a 32-bit word, w = b3 b2 b1 b0: the f16 patterns of
/// b0 and b2 (exponent and mantissa shifted up by 7, the sign bits by 8)
/// and of b1 and b3 (shifted down by 1, the signs in place), two a word.
static Value unpackE4M3Words(OpBuilder &b, Location loc, Value bytes) {
  auto byteType = cast<VectorType>(bytes.getType());
  int64_t count = byteType.getNumElements(), words = count / 4;
  Type i32 = b.getI32Type();
  auto wordType = VectorType::get({words}, i32);
  Value w = vector::BitCastOp::create(b, loc, wordType, bytes);
  auto splat = [&](uint32_t value) {
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(wordType, b.getI32IntegerAttr(int32_t(value))))
        .getResult();
  };
  Value magnitude = splat(0x3F803F80), sign = splat(0x80008000);
  auto pattern = [&](Value magnitudes, Value signs) {
    return arith::OrIOp::create(b, loc, arith::AndIOp::create(b, loc, magnitudes, magnitude),
                                arith::AndIOp::create(b, loc, signs, sign));
  };
  Value even = pattern(arith::ShLIOp::create(b, loc, w, splat(7)), arith::ShLIOp::create(b, loc, w, splat(8)));
  Value odd = pattern(arith::ShRUIOp::create(b, loc, w, splat(1)), w);
  auto halves = VectorType::get({2 * words}, b.getF16Type());
  Value evenHalves = vector::BitCastOp::create(b, loc, halves, even),
        oddHalves = vector::BitCastOp::create(b, loc, halves, odd);
  // Byte i sits in word i / 4 at position i % 4: 0 and 2 in the even
  // word's halves, 1 and 3 in the odd one's.
  SmallVector<int64_t> order;
  for (int64_t i = 0; i < count; ++i)
    order.push_back((i % 2 ? 2 * words : 0) + 2 * (i / 4) + (i % 4) / 2);
  return vector::ShuffleOp::create(b, loc, evenHalves, oddHalves, order);
}

Value mlir::ember::dequantizeE4M3FN(OpBuilder &b, Location loc, Value bytes, Value factor, E4M3Unpacking unpacking) {
  auto type = dyn_cast<VectorType>(bytes.getType());
  if (unpacking == E4M3Unpacking::PerByte || !type || type.getNumElements() % 4)
    return dequantizeE4M3FN(b, loc, bytes, factor);
  return widenScaled(b, loc, unpackE4M3Words(b, loc, asBytes(b, loc, bytes)), factor);
}

/// The scale of the block holding weight[indices].
static Value scaleAt(OpBuilder &b, Location loc, const BlockScales &scales, ValueRange indices) {
  SmallVector<Value> at(indices.begin(), indices.end());
  size_t rank = at.size();
  at[rank - 2] = arith::DivUIOp::create(b, loc, at[rank - 2], indexConstant(b, loc, scales.rows));
  at[rank - 1] = arith::DivUIOp::create(b, loc, at[rank - 1], indexConstant(b, loc, scales.cols));
  return memref::LoadOp::create(b, loc, scales.scale, at);
}

Value mlir::ember::loadWeightF32(OpBuilder &b, Location loc, Value weight, const BlockScales &scales,
                                 ValueRange indices) {
  if (!scales)
    return loadF32(b, loc, weight, indices);
  Value bytes = memref::LoadOp::create(b, loc, weight, indices);
  return dequantizeE4M3FN(b, loc, bytes, scaleAt(b, loc, scales, indices));
}

Value mlir::ember::loadWeightVectorF32(OpBuilder &b, Location loc, Value weight, const BlockScales &scales,
                                       ValueRange indices, int64_t lanes, llvm::MaybeAlign alignment,
                                       E4M3Unpacking unpacking) {
  Type element = cast<MemRefType>(weight.getType()).getElementType();
  Value loaded = vector::LoadOp::create(b, loc, VectorType::get({lanes}, element), weight, indices,
                                        /*nontemporal=*/false, alignment);
  if (scales)
    return dequantizeE4M3FN(b, loc, loaded, scaleAt(b, loc, scales, indices), unpacking);
  if (element.isF32())
    return loaded;
  return arith::ExtFOp::create(b, loc, VectorType::get({lanes}, b.getF32Type()), loaded);
}
