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

Value mlir::ember::dequantizeE4M3FN(OpBuilder &b, Location loc, Value bytes, Value factor) {
  Type type = bytes.getType();
  if (!getElementTypeOrSelf(type).isInteger(8))
    bytes = arith::BitcastOp::create(b, loc, withElement(type, b.getI8Type()), bytes);
  Type i16 = withElement(type, b.getI16Type());
  // Sign-extended, the sign lands in bit 15 (and 14, which the mask clears);
  // exponent and mantissa in bits 13..7, where f16 keeps its top 4 exponent
  // and 3 mantissa bits.
  Value shifted = arith::ShLIOp::create(b, loc, arith::ExtSIOp::create(b, loc, i16, bytes),
                                        constantLike(b, loc, i16, b.getI16IntegerAttr(7)));
  Value bits = arith::AndIOp::create(b, loc, shifted, constantLike(b, loc, i16, b.getI16IntegerAttr(0xBF80)));
  Value half = arith::BitcastOp::create(b, loc, withElement(type, b.getF16Type()), bits);
  Type f32 = withElement(type, b.getF32Type());
  Value widened = arith::ExtFOp::create(b, loc, f32, half);
  // 2^(15 - 7) for the exponent biases.
  Value scaled = arith::MulFOp::create(b, loc, factor, f32Constant(b, loc, 256.0));
  if (isa<VectorType>(f32))
    scaled = vector::BroadcastOp::create(b, loc, f32, scaled);
  return arith::MulFOp::create(b, loc, widened, scaled);
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
                                       ValueRange indices, int64_t lanes, llvm::MaybeAlign alignment) {
  Type element = cast<MemRefType>(weight.getType()).getElementType();
  Value loaded = vector::LoadOp::create(b, loc, VectorType::get({lanes}, element), weight, indices,
                                        /*nontemporal=*/false, alignment);
  if (scales)
    return dequantizeE4M3FN(b, loc, loaded, scaleAt(b, loc, scales, indices));
  if (element.isF32())
    return loaded;
  return arith::ExtFOp::create(b, loc, VectorType::get({lanes}, b.getF32Type()), loaded);
}
