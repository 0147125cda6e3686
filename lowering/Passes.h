//===- Passes.h - ember lowering passes and pipelines -----------*- C++ -*-===//
#ifndef EMBER_LOWERING_PASSES_H
#define EMBER_LOWERING_PASSES_H

#include "lowering/nvptx/CudaToolkit.h"
#include "passes/Passes.h"

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace mlir {
class OpPassManager;
namespace ember {

/// What a table gather does with a row id outside its table
/// (ember-lower-to-loops' and ember-gpu-strategies' bounds-check option).
enum class GatherBoundsCheck { Fatal, Clamp, None };
/// The option's values, for both passes.
inline auto gatherBoundsCheckValues() {
  return llvm::cl::values(
      clEnumValN(GatherBoundsCheck::Fatal, "fatal", "assert: abort (CPU) or trap (GPU) with a message"),
      clEnumValN(GatherBoundsCheck::Clamp, "clamp", "read the table's last row instead"),
      clEnumValN(GatherBoundsCheck::None, "none", "no check: the id indexes the table as is"));
}

/// Where an op that recomputes RMSNorm(x) for its input (ember.norm_linear,
/// ember.norm_swiglu) normalizes it (ember-lower-to-loops' norm-statistics
/// option): once per token into a scratch row the outputs read, in a loop
/// around them (right for the CPU, which runs the nest in order), or in
/// every output thread (the GPU, where the loop IR has no block-wide
/// reduction or shared memory to share a row). Both do the same arithmetic.
enum class NormStatistics { PerThread, PerToken };

#define GEN_PASS_DECL
#include "lowering/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lowering/Passes.h.inc"

/// Named stages a compilation can stop after (`--compile-to=<phase>`), in
/// pipeline order. CPU: ember -> loops -> llvm. GPU: ember -> loops -> gpu ->
/// nvvm -> ptx (the gpu.binary holds PTX text; cubin is produced by ptxas).
enum class Phase { Ember, Fused, Loops, Gpu, Nvvm, Ptx, Llvm };
std::optional<Phase> parsePhase(llvm::StringRef name);
llvm::StringRef phaseName(Phase phase);

struct NvptxOptions {
  std::string chip = "sm_90";
  /// CUDA 13's ptxas accepts PTX ISA 7.8..9.0; sm_90 needs at least 8.0.
  std::string features = "+ptx80";
  int64_t blockSize = 128;
  /// Whether ops get cooperative strategies where one applies
  /// (ember-gpu-strategies); false: every op thread_per_element.
  bool cooperativeKernels = true;
  /// Tokens per step from which GEMV-class ops with bf16 weights run on
  /// tensor cores (mma_sync_tile); 0: never.
  int64_t tensorCoreMinTokens = 64;
  /// CUDA's libdevice bitcode, linked into every kernel module so math ops
  /// (exp, sin, cos, sqrt) resolve; empty when no CUDA toolkit is found, and
  /// then kernels using them keep unresolved __nv_* calls.
  std::string libdevice = findLibdevice();
};

/// Options of the 'loops' phase, shared by both targets.
struct LoopOptions {
  GatherBoundsCheck gatherBoundsCheck = GatherBoundsCheck::Clamp;
  /// Fixed by the target (loopOptionsFor).
  NormStatistics normStatistics = NormStatistics::PerThread;
  /// Fixed by the target: matmul-class nests iterate the outputs outside
  /// the tokens (CPU), so a batch reads each weight row once.
  bool outputMajor = false;
  /// CPU: > 0 lowers matmul-class ops to row-tiled vector dots of this many
  /// f32 lanes; -1 (the default) takes the host's vector width; 0 leaves
  /// them to LLVM's loop vectorizer. Always 0 on the GPU.
  int64_t vectorLanes = -1;
  /// Fixed by the target: ops with a cooperative GPU strategy become
  /// kernels before the rest become loops (nvptx).
  bool gpuStrategies = false;
  /// The diagnostic build: every op's f32 outputs checked for NaN and Inf at
  /// run time (ember-insert-finite-checks).
  bool checkFinite = false;
};

enum class Target { Cpu, Nvptx };
/// `loops` with what `target` fixes: the CPU computes norm statistics per
/// token, the GPU per thread and lowers some ops to cooperative kernels.
LoopOptions loopOptionsFor(Target target, LoopOptions loops);
/// The fusions on by default for `target`: all of them on the CPU; on the
/// GPU all but `router`, whose fused kernel (the logits GEMV inside the
/// per-token top-k thread) made an H200's decode 1.59x slower.
FusionOptions defaultFusions(Target target);
/// The phases a target's IR passes through, in order; the first is the input.
llvm::ArrayRef<Phase> targetPhases(Target target);
/// "ember|fused|loops|llvm": the phase names of a target, for help texts.
std::string phaseNames(Target target);
/// Adds the passes that produce `phase` from the phase before it.
void addPhasePasses(OpPassManager &pm, Phase phase, const NvptxOptions &nvptx = {},
                    const FusionOptions &fusion = {}, const LoopOptions &loops = {});

/// Adds the passes that take ember IR to the LLVM dialect for the host CPU,
/// stopping after `stopAfter` (Ember adds nothing).
void buildCpuPipeline(OpPassManager &pm, Phase stopAfter = Phase::Llvm,
                      const FusionOptions &fusion = {}, const LoopOptions &loops = {});
/// Adds the passes that take ember IR to a gpu.binary holding PTX for
/// `options.chip`, stopping after `stopAfter`.
void buildNvptxPipeline(OpPassManager &pm, const NvptxOptions &options,
                        Phase stopAfter = Phase::Ptx, const FusionOptions &fusion = {},
                        const LoopOptions &loops = {});

/// Registers ember's passes and the `ember-cpu-pipeline` and
/// `ember-nvptx-pipeline` pipelines with the global registry (for ember-opt).
void registerEmberLoweringPassesAndPipelines();

} // namespace ember
} // namespace mlir

#endif // EMBER_LOWERING_PASSES_H
