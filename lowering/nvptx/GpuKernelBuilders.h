//===- GpuKernelBuilders.h - cooperative kernels' building blocks -*- C++ -*-===//
//
// What the cooperative strategies of ember-gpu-strategies (GpuStrategies.cpp)
// share: a gpu.launch with a decision attached, warp and block reductions,
// 16-byte vector loads.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_NVPTX_GPUKERNELBUILDERS_H
#define EMBER_LOWERING_NVPTX_GPUKERNELBUILDERS_H

#include "lowering/BlockScaledWeights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

#include <array>

namespace mlir::ember {

constexpr int64_t kWarpSize = 32;
/// Bytes one thread loads at once: the widest global load (LDG.E.128).
constexpr int64_t kVectorLoadBytes = 16;

/// Index arithmetic and a then-only scf.if, which the kernel builders
/// spell often.
inline Value indexAdd(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return arith::AddIOp::create(b, loc, lhs, rhs);
}
inline Value indexMul(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return arith::MulIOp::create(b, loc, lhs, rhs);
}
inline Value indexLess(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, lhs, rhs);
}
inline void buildIf(OpBuilder &b, Location loc, Value condition, function_ref<void(OpBuilder &, Location)> then) {
  scf::IfOp::create(b, loc, condition, [&](OpBuilder &b, Location loc) {
    then(b, loc);
    scf::YieldOp::create(b, loc);
  });
}

/// `token`, or the last of `tokens` past the end: a group's tokens past the
/// end read the last one (always in bounds) and store nothing.
inline Value clampToLastToken(OpBuilder &b, Location loc, Value token, Value tokens) {
  return arith::MinUIOp::create(b, loc, token,
                                arith::SubIOp::create(b, loc, tokens, arith::ConstantIndexOp::create(b, loc, 1)));
}

/// The ids a cooperative kernel body sees.
struct KernelIds {
  Value blockX, blockY, threadX, threadY;
};

/// A gpu.launch of grid (x, y, 1) and `block`, with workgroup buffers of
/// `workgroup` types (memrefs in the workgroup address space); `body`
/// fills it (the terminator is added). The launch carries `decision` as
/// `ember.gpu_kernel`, which ember-map-to-gpu moves to its gpu.module.
gpu::LaunchOp buildCooperativeLaunch(OpBuilder &b, Location loc, Value gridX, Value gridY,
                                     std::array<int64_t, 3> block, TypeRange workgroup, Attribute decision,
                                     function_ref<void(OpBuilder &, Location, const KernelIds &,
                                                       ValueRange workgroupBuffers)> body);

/// An associative, commutative combination of two f32 values.
using Combine = function_ref<Value(OpBuilder &, Location, Value, Value)>;

/// `combine` of `value` over the 32 lanes of the warp, or over each aligned
/// group of `lanes` lanes (a power of two up to 32), in every lane
/// (butterfly of xor shuffles).
Value buildWarpReduce(OpBuilder &b, Location loc, Value value, Combine combine, int64_t lanes = kWarpSize);
Value buildWarpSum(OpBuilder &b, Location loc, Value value, int64_t lanes = kWarpSize);
/// The sum of every element of `vector` over the warp's lanes, in every
/// lane: each lane's elements, then buildWarpSum.
Value buildWarpVectorSum(OpBuilder &b, Location loc, Value vector);

/// `combine` of `value` over a block of `threads` threads (a multiple of
/// 32, thread x only), in every thread: warp results meet in `scratch`
/// (workgroup memory of threads / 32 floats, one buffer per reduction) across
/// one barrier. Every thread of the block must call it.
Value buildBlockReduce(OpBuilder &b, Location loc, Value value, Value threadX, int64_t threads, Value scratch,
                       Combine combine);
Value buildBlockSum(OpBuilder &b, Location loc, Value value, Value threadX, int64_t threads, Value scratch);

/// `memref[indices]` .. + `width` elements as vector<width x f32> through
/// one load of the stored type, `alignment` bytes aligned.
Value loadVectorF32(OpBuilder &b, Location loc, Value memref, ValueRange indices, int64_t width,
                    int64_t alignment);

/// A memref of `count` f32 (or `element`) in workgroup memory.
MemRefType workgroupF32(MLIRContext *context, int64_t count);
MemRefType workgroupMemRef(Type element, int64_t count);

/// Elements of `memref` per 16-byte load; of several, the most (the
/// narrowest element type's).
int64_t elementsPerVectorLoad(Value memref);
int64_t elementsPerVectorLoad(ValueRange memrefs);

/// The alignment of `width` consecutive elements of `memref` from a multiple
/// of `width` (rows a multiple of `width` long): their bytes, at most 16.
int64_t vectorLoadAlignment(Value memref, int64_t width);

/// Weights per lane and load: one 16-byte load of the narrowest of
/// `weights`, or fewer where the blocks of an FP8 one (its `scales`) are
/// narrower than that, so that the weights of a load share one scale.
int64_t weightVectorWidth(ValueRange weights, ArrayRef<BlockScales> scales);

/// `width` weights from weight[indices] as f32 through one aligned load,
/// dequantized when `scales` is set (loadWeightVectorF32).
Value loadWeightVector(OpBuilder &b, Location loc, Value weight, const BlockScales &scales, ValueRange indices,
                       int64_t width);

/// Lanes of the f32 accumulators of a dot product over loads of `width`:
/// at most 8, so that a load of 16 FP8 weights costs the registers of 8
/// bf16 ones.
inline int64_t accumulatorLanes(int64_t width) { return std::min<int64_t>(width, 8); }

/// `sum` + `lhs` * `rhs`, the products of a wider load added into `sum`'s
/// lanes chunk by chunk (contracted to fused multiply-adds).
Value addProducts(OpBuilder &b, Location loc, Value sum, Value lhs, Value rhs);

/// Whether `memref` has the identity layout (so its base pointer is the
/// allocation's, aligned for vector loads).
bool hasIdentityLayout(Value memref);

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_GPUKERNELBUILDERS_H
