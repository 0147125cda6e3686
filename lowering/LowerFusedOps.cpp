//===- LowerFusedOps.cpp - fused ember ops -> scf.parallel loops ----------===//
//
// The ops the passes/ fusions create, lowered like the unfused ones: one
// scf.parallel nest per op, one output element per iteration.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"
#include "lowering/NgramLoops.h"
#include "lowering/Passes.h"
#include "lowering/RowTiledDots.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

/// A SwiGLU op's gate and up weights with their block scales (if any).
struct SwiGluWeights {
  Value gate, up;
  BlockScales gateScales, upScales;

  template <typename OpTy> static SwiGluWeights of(OpTy op, typename OpTy::Adaptor adaptor) {
    return {adaptor.getGateWeight(), adaptor.getUpWeight(),
            BlockScales::of(adaptor.getGateScale(), op.getWeightBlock()),
            BlockScales::of(adaptor.getUpScale(), op.getWeightBlock())};
  }
  SmallVector<Value> weights() const { return {gate, up}; }
  SmallVector<BlockScales> scales() const { return {gateScales, upScales}; }
};

/// silu(x[t] . g[f]) * (x[t] . u[f]) over `inputs` elements `xAt(i)` of x[t].
Value buildSwiGlu(OpBuilder &b, Location loc, Value inputs, Value f, const SwiGluWeights &w,
                  function_ref<Value(OpBuilder &, Location, Value)> xAt) {
  auto row = [&](Value weight, const BlockScales &scales) {
    return [&, weight](OpBuilder &b, Location loc, Value i) { return loadWeightF32(b, loc, weight, scales, {f, i}); };
  };
  Value zero = f32Constant(b, loc, 0.0);
  Value gate = buildDotProduct(b, loc, inputs, zero, xAt, row(w.gate, w.gateScales));
  Value up = buildDotProduct(b, loc, inputs, zero, xAt, row(w.up, w.upScales));
  return arith::MulFOp::create(b, loc, buildSilu(b, loc, gate), up);
}

/// silu(gate) * up, stored at h[t, f].
void storeSwiGlu(OpBuilder &b, Location loc, Value h, Value t, Value f, ValueRange gateAndUp) {
  Value value = arith::MulFOp::create(b, loc, buildSilu(b, loc, gateAndUp[0]), gateAndUp[1]);
  memref::StoreOp::create(b, loc, value, h, ValueRange{t, f});
}

/// h[t, f] = silu(x[t] . g[f]) * (x[t] . u[f]): both dot products in the
/// thread that writes h, so neither projection reaches memory; on the CPU,
/// row-tiled vector dots of both (RowTiledDots.h).
struct LowerSwiGlu : OpConversionPattern<SwiGluOp> {
  LowerSwiGlu(MLIRContext *context, const MatmulLoops &loops) : OpConversionPattern(context), loops(loops) {}

  LogicalResult matchAndRewrite(SwiGluOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), h = adaptor.getOut();
    Value tokens = dimOf(rewriter, loc, h, 0), hidden = dimOf(rewriter, loc, h, 1),
          inputs = dimOf(rewriter, loc, x, 1);
    SwiGluWeights w = SwiGluWeights::of(op, adaptor);
    if (useRowTiledDots(loops, x, w.weights(), w.scales())) {
      buildRowTiledDots(
          rewriter, loc, x, w.weights(), hidden, loops.vectorLanes,
          [&](OpBuilder &b, Location loc, Value t, Value f, ValueRange sums) { storeSwiGlu(b, loc, h, t, f, sums); },
          w.scales());
      rewriter.eraseOp(op);
      return success();
    }
    buildRowsByOutputsNest(rewriter, loc, tokens, hidden, loops.outputMajor,
                           [&](OpBuilder &b, Location loc, Value t, Value f) {
                             Value value = buildSwiGlu(b, loc, inputs, f, w, [&](OpBuilder &b, Location loc, Value i) {
                               return loadF32(b, loc, x, {t, i});
                             });
                             memref::StoreOp::create(b, loc, value, h, ValueRange{t, f});
                           });
    rewriter.eraseOp(op);
    return success();
  }

private:
  MatmulLoops loops;
};

/// The [T, N] nest of an op whose input is RMSNorm(x), recomputed:
/// `body(t, n, normed)` writes output (t, n), where `normed(i)` is element
/// i of the normalized row t, computed as rms_norm would store it. PerThread
/// (GPU): every thread computes the row's inverse RMS and normalizes each
/// element it reads. PerToken (CPU): a sequential loop over the tokens
/// computes each inverse RMS and normalized row into a [T, D] scratch
/// buffer (freed after the nest) that the outputs read, so the CPU does
/// rms_norm's work once, as unfused, and the nest can be output-major
/// (buildRowsByOutputsNest) with every row ready, or row-tiled vector dots
/// of the scratch rows with `weights` (and their `scales`, if any), each
/// output's sums passed to `emit(t, n, sums)` (RowTiledDots.h).
template <typename OpTy>
void buildNormedNest(
    OpBuilder &b, Location loc, NormStatistics statistics, const MatmulLoops &loops, OpTy op,
    typename OpTy::Adaptor adaptor, Value outputs,
    function_ref<void(OpBuilder &, Location, Value, Value, function_ref<Value(OpBuilder &, Location, Value)>)> body,
    ValueRange weights, function_ref<void(OpBuilder &, Location, Value, Value, ValueRange)> emit,
    ArrayRef<BlockScales> scales = {}) {
  bool outputMajor = loops.outputMajor;
  Value x = adaptor.getX();
  Value tokens = dimOf(b, loc, x, 0), width = dimOf(b, loc, x, 1);
  double eps = op.getEps().convertToDouble(), scale = op.getScale().convertToDouble();
  auto inverseOf = [&](OpBuilder &b, Location loc, Value t) {
    return buildRmsInverse(b, loc, width, eps, [&](OpBuilder &b, Location loc, Value i) {
      return loadF32(b, loc, x, {t, i});
    });
  };
  if (statistics == NormStatistics::PerThread) {
    buildRowsByOutputsNest(b, loc, tokens, outputs, outputMajor, [&](OpBuilder &b, Location loc, Value t, Value n) {
      Value inverse = inverseOf(b, loc, t);
      body(b, loc, t, n, [&](OpBuilder &b, Location loc, Value i) {
        return buildRmsNormed(b, loc, loadF32(b, loc, x, {t, i}), inverse, adaptor.getNormWeight(), i,
                              scale);
      });
    });
    return;
  }
  // A sequential loop over the tokens (the CPU runs them in order anyway)
  // normalizes every row into the scratch buffer.
  auto rowsType = MemRefType::get({ShapedType::kDynamic, cast<MemRefType>(x.getType()).getDimSize(1)}, b.getF32Type());
  SmallVector<Value> dynamicSizes{tokens};
  if (rowsType.isDynamicDim(1))
    dynamicSizes.push_back(width);
  Value rows = memref::AllocOp::create(b, loc, rowsType, dynamicSizes);
  buildSequentialLoop(b, loc, tokens, {}, [&](OpBuilder &b, Location loc, Value t, ValueRange) {
    Value inverse = inverseOf(b, loc, t);
    buildSequentialLoop(b, loc, width, {}, [&](OpBuilder &b, Location loc, Value i, ValueRange) {
      Value normed = buildRmsNormed(b, loc, loadF32(b, loc, x, {t, i}), inverse,
                                    adaptor.getNormWeight(), i, scale);
      memref::StoreOp::create(b, loc, normed, rows, ValueRange{t, i});
      return SmallVector<Value>{};
    });
    return SmallVector<Value>{};
  });
  if (useRowTiledDots(loops, rows, weights, scales))
    buildRowTiledDots(b, loc, rows, weights, outputs, loops.vectorLanes, emit, scales);
  else
    buildRowsByOutputsNest(b, loc, tokens, outputs, outputMajor, [&](OpBuilder &b, Location loc, Value t, Value n) {
      body(b, loc, t, n, [&](OpBuilder &b, Location loc, Value i) {
        return memref::LoadOp::create(b, loc, rows, ValueRange{t, i}).getResult();
      });
    });
  memref::DeallocOp::create(b, loc, rows);
}

/// A norm_* lowering, built as `statistics` and `loops` say
/// (buildNormedNest).
template <typename OpTy> struct NormedPattern : OpConversionPattern<OpTy> {
  NormedPattern(MLIRContext *context, NormStatistics statistics, const MatmulLoops &loops)
      : OpConversionPattern<OpTy>(context), statistics(statistics), loops(loops) {}

protected:
  NormStatistics statistics;
  MatmulLoops loops;
};

/// y[t, o] (+)= RMSNorm(x)[t] . w[o].
struct LowerNormLinear : NormedPattern<NormLinearOp> {
  using NormedPattern::NormedPattern;

  LogicalResult matchAndRewrite(NormLinearOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value w = adaptor.getWeight(), y = adaptor.getOut();
    Value inputs = dimOf(rewriter, loc, adaptor.getX(), 1);
    bool accumulate = op.getAccumulate();
    BlockScales scales = BlockScales::of(adaptor.getWeightScale(), op.getWeightBlock());
    auto emit = [&](OpBuilder &b, Location loc, Value t, Value o, ValueRange sums) {
      storeLinearOutput(b, loc, y, t, o, sums[0], accumulate);
    };
    buildNormedNest<NormLinearOp>(
        rewriter, loc, statistics, loops, op, adaptor, dimOf(rewriter, loc, y, 1),
        [&](OpBuilder &b, Location loc, Value t, Value o, function_ref<Value(OpBuilder &, Location, Value)> normed) {
          Value init = accumulate ? memref::LoadOp::create(b, loc, y, ValueRange{t, o}).getResult()
                                  : f32Constant(b, loc, 0.0);
          Value sum = buildDotProduct(b, loc, inputs, init, normed, [&](OpBuilder &b, Location loc, Value i) {
            return loadWeightF32(b, loc, w, scales, {o, i});
          });
          memref::StoreOp::create(b, loc, sum, y, ValueRange{t, o});
        },
        w, emit, scales);
    rewriter.eraseOp(op);
    return success();
  }
};

/// ember.swiglu on RMSNorm(x).
struct LowerNormSwiGlu : NormedPattern<NormSwiGluOp> {
  using NormedPattern::NormedPattern;

  LogicalResult matchAndRewrite(NormSwiGluOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value h = adaptor.getOut();
    Value inputs = dimOf(rewriter, loc, adaptor.getX(), 1);
    SwiGluWeights w = SwiGluWeights::of(op, adaptor);
    buildNormedNest<NormSwiGluOp>(
        rewriter, loc, statistics, loops, op, adaptor, dimOf(rewriter, loc, h, 1),
        [&](OpBuilder &b, Location loc, Value t, Value f, function_ref<Value(OpBuilder &, Location, Value)> normed) {
          Value value = buildSwiGlu(b, loc, inputs, f, w, normed);
          memref::StoreOp::create(b, loc, value, h, ValueRange{t, f});
        },
        w.weights(),
        [&](OpBuilder &b, Location loc, Value t, Value f, ValueRange sums) { storeSwiGlu(b, loc, h, t, f, sums); },
        w.scales());
    rewriter.eraseOp(op);
    return success();
  }
};

/// out[t, d]: one thread per output element, as ngram_combine. Each thread
/// hashes its own token (E hashes of at most N terms: little next to the
/// E*W products it sums) and reads the rows straight from the tables, so
/// neither ids nor rows are stored; the threads of a token read the same
/// rows, which the cache serves. Sharing one hash per token block would need
/// shared memory and a barrier, which the scf.parallel loop IR cannot say.
/// Sums run in the order of the unfused word gather + ngram_combine. The
/// token id indexes the word embedding and is checked as `boundsCheck` says;
/// the hashed ids are in range by construction (mod M_i, computed here).
struct LowerNgramEmbed : OpConversionPattern<NgramEmbedOp> {
  LowerNgramEmbed(MLIRContext *context, GatherBoundsCheck boundsCheck)
      : OpConversionPattern(context), boundsCheck(boundsCheck) {}

  LogicalResult matchAndRewrite(NgramEmbedOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    NgramConfigAttr config = op.getConfig();
    Value tables = adaptor.getTables(), proj = adaptor.getProjections(), out = adaptor.getOut();
    Value tokens = dimOf(rewriter, loc, out, 0), hidden = dimOf(rewriter, loc, out, 1),
          width = dimOf(rewriter, loc, tables, 1);
    SmallVector<int64_t> offsets = config.getRowOffsets();
    const int64_t wordOffsets[] = {0};
    GatherCheck wordCheck =
        buildGatherCheck(rewriter, loc, boundsCheck, adaptor.getEmbed(), wordOffsets, 0);
    auto body = [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value t = ivs[0], d = ivs[1];
      Value slot = loadIndex(b, loc, adaptor.getSlots(), t);
      Value position = loadIndex(b, loc, adaptor.getPositions(), t);
      SmallVector<Value> ids = buildNgramHashes(b, loc, config, adaptor.getTable(), slot, position);
      Value token = memref::LoadOp::create(b, loc, adaptor.getTokens(), t);
      Value sum = buildGatherLoad(b, loc, adaptor.getEmbed(), token, 0, d, wordCheck);
      for (auto [i, id] : llvm::enumerate(ids)) {
        Value table = indexConstant(b, loc, i);
        auto projection = [&](OpBuilder &b, Location loc, Value w) {
          return loadF32(b, loc, proj, {table, d, w});
        };
        auto row = [&, id = id, offset = offsets[i]](OpBuilder &b, Location loc, Value w) {
          return buildGatherLoad(b, loc, tables, id, offset, w);
        };
        sum = buildDotProduct(b, loc, width, sum, projection, row);
      }
      Value mean = arith::DivFOp::create(b, loc, sum, f32Constant(b, loc, 1.0 + offsets.size()));
      memref::StoreOp::create(b, loc, mean, out, ivs);
    };
    buildParallelNest(rewriter, loc, {tokens, hidden}, body);
    rewriter.eraseOp(op);
    return success();
  }

private:
  GatherBoundsCheck boundsCheck;
};

/// One thread per token: router_topk's body (buildRouterTopk) reading the
/// token's logits from a scratch row of its own instead of a [T, R+Z]
/// buffer.
struct LowerFusedRouter : OpConversionPattern<FusedRouterOp> {
  LowerFusedRouter(MLIRContext *context, const MatmulLoops &loops) : OpConversionPattern(context), loops(loops) {}
  LogicalResult matchAndRewrite(FusedRouterOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value u = adaptor.getU(), classifier = adaptor.getClassifier();
    Value tokens = dimOf(rewriter, loc, u, 0), inputs = dimOf(rewriter, loc, u, 1);
    Value numExperts = dimOf(rewriter, loc, classifier, 0);
    Value k = dimOf(rewriter, loc, adaptor.getExperts(), 1);
    int64_t staticExperts = cast<MemRefType>(classifier.getType()).getDimSize(0);
    // Each thread's logits live in its own scratch row (registers or local
    // memory on the GPU), computed once: the selection reads them k + 2 times.
    buildParallelNest(rewriter, loc, tokens, [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value t = ivs[0];
      Value logits = buildScratchRow(b, loc, staticExperts, numExperts);
      scf::ForOp fill = scf::ForOp::create(b, loc, indexConstant(b, loc, 0), numExperts, indexConstant(b, loc, 1));
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(fill.getBody());
        Value e = fill.getInductionVar();
        Value logit = useRowTiledDots(loops, u, classifier)
                          ? buildTiledDots(b, loc, {MemRefRow{u, {t}}}, {MemRefRow{classifier, {e}}}, inputs,
                                           loops.vectorLanes)[0]
                          : buildDotProduct(
                                b, loc, inputs, f32Constant(b, loc, 0.0),
                                [&](OpBuilder &b, Location loc, Value i) {
                                  return loadF32(b, loc, u, {t, i});
                                },
                                [&](OpBuilder &b, Location loc, Value i) {
                                  return loadF32(b, loc, classifier, {e, i});
                                });
        memref::StoreOp::create(b, loc, logit, logits, ValueRange{e});
      }
      auto logit = [&](OpBuilder &b, Location loc, Value e) {
        return memref::LoadOp::create(b, loc, logits, ValueRange{e}).getResult();
      };
      buildRouterTopk(b, loc, t, numExperts, k, logit, adaptor.getBias(), adaptor.getExperts(),
                      adaptor.getWeights(), op.getScalingAttr().getValueAsDouble());
    });
    rewriter.eraseOp(op);
    return success();
  }

  MatmulLoops loops;
};

/// moe_dispatch's counting sort with counts, padding and each assignment's row.
struct LowerMoeGroup : OpConversionPattern<MoeGroupOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MoeGroupOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    buildPaddedExpertGrouping(rewriter, op.getLoc(), adaptor.getExperts(), op.getNRouted(),
                              op.getRowsPerTile(), adaptor.getOrder(), adaptor.getRows(),
                              adaptor.getCounts());
    rewriter.eraseOp(op);
    return success();
  }
};

/// moe_combine's loop (buildMoeCombine) with expert_down's dot product over
/// the assignment's sorted row of h in place of the load of y.
struct LowerExpertDownCombine : OpConversionPattern<ExpertDownCombineOp> {
  LowerExpertDownCombine(MLIRContext *context, const MatmulLoops &loops) : OpConversionPattern(context), loops(loops) {}
  LogicalResult matchAndRewrite(ExpertDownCombineOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value h = adaptor.getH(), down = adaptor.getDown(), rows = adaptor.getRows();
    BlockScales scales = BlockScales::of(adaptor.getDownScale(), op.getWeightBlock());
    Value width = dimOf(rewriter, loc, h, 1);
    auto routedOutput = [&](OpBuilder &b, Location loc, Value assignment, Value d, Value expert) {
      return buildExpertDownDot(b, loc, loops, down, scales, h, expert, d, loadIndex(b, loc, rows, assignment), width);
    };
    buildMoeCombine(rewriter, loc, op.getNRouted(), adaptor.getX(), adaptor.getExperts(),
                    adaptor.getWeights(), adaptor.getOut(), routedOutput);
    rewriter.eraseOp(op);
    return success();
  }

  MatmulLoops loops;
};

} // namespace

void mlir::ember::populateFusedLoweringPatterns(RewritePatternSet &patterns, GatherBoundsCheck boundsCheck,
                                                NormStatistics normStatistics, const MatmulLoops &matmulLoops) {
  patterns.add<LowerSwiGlu>(patterns.getContext(), matmulLoops);
  patterns.add<LowerNormLinear, LowerNormSwiGlu>(patterns.getContext(), normStatistics, matmulLoops);
  patterns.add<LowerNgramEmbed>(patterns.getContext(), boundsCheck);
  patterns.add<LowerFusedRouter, LowerExpertDownCombine>(patterns.getContext(), matmulLoops);
  patterns.add<LowerMoeGroup>(patterns.getContext());
}
