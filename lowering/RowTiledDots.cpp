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

bool mlir::ember::useRowTiledDots(const MatmulLoops &loops, Value x, ValueRange weights, ArrayRef<BlockScales> scales) {
  return loops.vectorLanes > 0 && cast<MemRefType>(x.getType()).getElementType().isF32() && hasContiguousRows(x) &&
         llvm::all_of(weights, hasContiguousRows) &&
         llvm::all_of(scales, [&](const BlockScales &s) { return scalesFitLanes(s, loops.vectorLanes); });
}

SmallVector<Value> mlir::ember::buildTiledDots(OpBuilder &b, Location loc, ArrayRef<MemRefRow> inputs,
                                               ArrayRef<MemRefRow> weights, Value width, int64_t lanes) {
  auto vectorType = VectorType::get({lanes}, b.getF32Type());
  Value zeros = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, 0.0f));
  Value vectorEnd = arith::SubIOp::create(
      b, loc, width, arith::RemUIOp::create(b, loc, width, indexConstant(b, loc, lanes)).getResult());
  size_t count = inputs.size() * weights.size();
  auto at = [](const MemRefRow &row, Value k) {
    SmallVector<Value> indices(row.prefix.begin(), row.prefix.end());
    indices.push_back(k);
    return indices;
  };
  ValueRange vectors = buildStridedLoop(
      b, loc, indexConstant(b, loc, 0), vectorEnd, indexConstant(b, loc, lanes), SmallVector<Value>(count, zeros),
      [&](OpBuilder &b, Location loc, Value k, ValueRange acc) {
        SmallVector<Value> weightVectors;
        for (const MemRefRow &weight : weights)
          weightVectors.push_back(loadWeightVectorF32(b, loc, weight.memref, weight.scales, at(weight, k), lanes));
        SmallVector<Value> next;
        for (auto [i, input] : llvm::enumerate(inputs)) {
          Value inputVector = vector::LoadOp::create(b, loc, vectorType, input.memref, at(input, k));
          for (auto [j, weightVector] : llvm::enumerate(weightVectors))
            next.push_back(vector::FMAOp::create(b, loc, inputVector, weightVector, acc[i * weights.size() + j]));
        }
        return next;
      });
  // No fast-math flags: the tail sums in k order, whatever LLVM does.
  ValueRange tails = buildStridedLoop(
      b, loc, vectorEnd, width, indexConstant(b, loc, 1), SmallVector<Value>(count, f32Constant(b, loc, 0.0)),
      [&](OpBuilder &b, Location loc, Value k, ValueRange acc) {
        SmallVector<Value> next;
        for (auto [i, input] : llvm::enumerate(inputs)) {
          Value inputValue = loadF32(b, loc, input.memref, at(input, k));
          for (auto [j, weight] : llvm::enumerate(weights)) {
            Value product = arith::MulFOp::create(b, loc, inputValue,
                                                  loadWeightF32(b, loc, weight.memref, weight.scales, at(weight, k)));
            next.push_back(arith::AddFOp::create(b, loc, acc[i * weights.size() + j], product));
          }
        }
        return next;
      });
  SmallVector<Value> sums;
  for (size_t index = 0; index < count; ++index)
    sums.push_back(vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, vectors[index], tails[index]));
  return sums;
}

void mlir::ember::buildRowTiledDots(OpBuilder &b, Location loc, Value x, ValueRange weights, Value outputs,
                                    int64_t lanes,
                                    function_ref<void(OpBuilder &, Location, Value, Value, ValueRange)> emit,
                                    ArrayRef<BlockScales> scales) {
  Value tokens = dimOf(b, loc, x, 0), width = dimOf(b, loc, x, 1);
  int64_t tileRows = std::max<int64_t>(1, kTileAccumulators / int64_t(weights.size()));
  buildParallelNest(b, loc, {outputs}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
    Value o = ivs[0];
    SmallVector<MemRefRow> weightRows;
    for (auto [index, weight] : llvm::enumerate(weights))
      weightRows.push_back({weight, {o}, scales.empty() ? BlockScales() : scales[index]});
    // `rows` rows from t0, their sums emitted row by row.
    auto buildTile = [&](OpBuilder &b, Location loc, Value t0, int64_t rows) {
      SmallVector<Value> rowIndices;
      SmallVector<MemRefRow> inputRows;
      for (int64_t i = 0; i < rows; ++i) {
        rowIndices.push_back(i == 0 ? t0 : arith::AddIOp::create(b, loc, t0, indexConstant(b, loc, i)).getResult());
        inputRows.push_back({x, {rowIndices.back()}});
      }
      SmallVector<Value> sums = buildTiledDots(b, loc, inputRows, weightRows, width, lanes);
      for (int64_t i = 0; i < rows; ++i)
        emit(b, loc, rowIndices[i], o, ArrayRef(sums).slice(size_t(i) * weights.size(), weights.size()));
    };
    // Whole tiles, then the rows left over one by one.
    Value tile = indexConstant(b, loc, tileRows);
    Value tiledEnd = arith::SubIOp::create(b, loc, tokens, arith::RemUIOp::create(b, loc, tokens, tile).getResult());
    buildStridedLoop(b, loc, indexConstant(b, loc, 0), tiledEnd, tile,
                     [&](OpBuilder &b, Location loc, Value t0) { buildTile(b, loc, t0, tileRows); });
    buildStridedLoop(b, loc, tiledEnd, tokens, indexConstant(b, loc, 1),
                     [&](OpBuilder &b, Location loc, Value t) { buildTile(b, loc, t, 1); });
  });
}
