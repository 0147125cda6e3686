//===- RowTiledDots.cpp - register-blocked dot products (CPU) -------------===//
#include "lowering/RowTiledDots.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::ember;

/// Accumulator vectors a tile keeps in registers: AVX-512 has 32, and the
/// loaded weight and input vectors need some.
static constexpr int64_t kTileAccumulators = 8;

bool mlir::ember::hasContiguousRows(Value memref) {
  auto type = dyn_cast<MemRefType>(memref.getType());
  SmallVector<int64_t> strides;
  int64_t offset = 0;
  return type && type.getRank() > 0 && succeeded(type.getStridesAndOffset(strides, offset)) && strides.back() == 1;
}

bool mlir::ember::useRowTiledDots(const MatmulLoops &loops, Value x, ValueRange weights) {
  return loops.vectorLanes > 0 && cast<MemRefType>(x.getType()).getElementType().isF32() && hasContiguousRows(x) &&
         llvm::all_of(weights, hasContiguousRows);
}

namespace {

struct TileBuilder {
  Value x, o, width, vectorEnd;
  ValueRange weights;
  int64_t lanes;

  /// `rows` rows from t0: the vector loop, the scalar tail, then the lanes.
  void build(OpBuilder &b, Location loc, Value t0, int64_t rows,
             function_ref<void(OpBuilder &, Location, Value, Value, ValueRange)> emit) const {
    auto vectorType = VectorType::get({lanes}, b.getF32Type());
    Value zeros = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, 0.0f));
    size_t count = size_t(rows) * weights.size();
    auto rowIndex = [&](OpBuilder &b, Location loc, int64_t i) {
      return i == 0 ? t0 : arith::AddIOp::create(b, loc, t0, indexConstant(b, loc, i)).getResult();
    };
    ValueRange vectors = buildStridedLoop(
        b, loc, indexConstant(b, loc, 0), vectorEnd, indexConstant(b, loc, lanes), SmallVector<Value>(count, zeros),
        [&](OpBuilder &b, Location loc, Value k, ValueRange acc) {
          SmallVector<Value> weightVectors;
          for (Value weight : weights) {
            auto elementType = cast<MemRefType>(weight.getType()).getElementType();
            Value loaded =
                vector::LoadOp::create(b, loc, VectorType::get({lanes}, elementType), weight, ValueRange{o, k});
            weightVectors.push_back(
                elementType.isF32() ? loaded : arith::ExtFOp::create(b, loc, vectorType, loaded).getResult());
          }
          SmallVector<Value> next;
          for (int64_t i = 0; i < rows; ++i) {
            Value input = vector::LoadOp::create(b, loc, vectorType, x, ValueRange{rowIndex(b, loc, i), k});
            for (auto [j, weightVector] : llvm::enumerate(weightVectors))
              next.push_back(vector::FMAOp::create(b, loc, input, weightVector, acc[size_t(i) * weights.size() + j]));
          }
          return next;
        });
    // No fast-math flags: the tail sums in k order, whatever LLVM does.
    ValueRange tails = buildStridedLoop(
        b, loc, vectorEnd, width, indexConstant(b, loc, 1), SmallVector<Value>(count, f32Constant(b, loc, 0.0)),
        [&](OpBuilder &b, Location loc, Value k, ValueRange acc) {
          SmallVector<Value> next;
          for (int64_t i = 0; i < rows; ++i) {
            Value input = loadF32(b, loc, x, {rowIndex(b, loc, i), k});
            for (auto [j, weight] : llvm::enumerate(weights)) {
              Value product = arith::MulFOp::create(b, loc, input, loadF32(b, loc, weight, {o, k}));
              next.push_back(arith::AddFOp::create(b, loc, acc[size_t(i) * weights.size() + j], product));
            }
          }
          return next;
        });
    for (int64_t i = 0; i < rows; ++i) {
      SmallVector<Value> sums;
      for (size_t j = 0; j < weights.size(); ++j) {
        size_t index = size_t(i) * weights.size() + j;
        sums.push_back(vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, vectors[index], tails[index]));
      }
      emit(b, loc, rowIndex(b, loc, i), o, sums);
    }
  }
};

} // namespace

void mlir::ember::buildRowTiledDots(OpBuilder &b, Location loc, Value x, ValueRange weights, Value outputs,
                                    int64_t lanes,
                                    function_ref<void(OpBuilder &, Location, Value, Value, ValueRange)> emit) {
  Value tokens = dimOf(b, loc, x, 0), width = dimOf(b, loc, x, 1);
  int64_t tileRows = std::max<int64_t>(1, kTileAccumulators / int64_t(weights.size()));
  buildParallelNest(b, loc, {outputs}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
    Value lanesValue = indexConstant(b, loc, lanes), tile = indexConstant(b, loc, tileRows);
    Value vectorEnd =
        arith::SubIOp::create(b, loc, width, arith::RemUIOp::create(b, loc, width, lanesValue).getResult());
    TileBuilder builder{x, ivs[0], width, vectorEnd, weights, lanes};
    // Whole tiles, then the rows left over one by one.
    Value tiledEnd = arith::SubIOp::create(b, loc, tokens, arith::RemUIOp::create(b, loc, tokens, tile).getResult());
    buildStridedLoop(b, loc, indexConstant(b, loc, 0), tiledEnd, tile,
                     [&](OpBuilder &b, Location loc, Value t0) { builder.build(b, loc, t0, tileRows, emit); });
    buildStridedLoop(b, loc, tiledEnd, tokens, indexConstant(b, loc, 1),
                     [&](OpBuilder &b, Location loc, Value t) { builder.build(b, loc, t, 1, emit); });
  });
}
