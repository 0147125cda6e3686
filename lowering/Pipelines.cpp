//===- Pipelines.cpp - ember's CPU and NVPTX pass pipelines ---------------===//
//
// Both targets share ember -> loops; they part ways after it. Upstream steps
// are spelled as textual pipelines so each stage matches the equivalent
// ember-opt command line exactly.
//
//===----------------------------------------------------------------------===//
#include "lowering/Passes.h"
#include "lowering/cpu/Passes.h"
#include "lowering/nvptx/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::ember;

namespace {
/// The phase table: every named stage, in pipeline order, with the targets
/// whose IR passes through it.
struct PhaseInfo {
  Phase phase;
  llvm::StringLiteral name;
  bool cpu, nvptx;
};
constexpr PhaseInfo kPhases[] = {
    {Phase::Ember, "ember", true, true}, {Phase::Fused, "fused", true, true},
    {Phase::Loops, "loops", true, true}, {Phase::Gpu, "gpu", false, true},
    {Phase::Nvvm, "nvvm", false, true},  {Phase::Ptx, "ptx", false, true},
    {Phase::Llvm, "llvm", true, false},
};
} // namespace

std::optional<Phase> mlir::ember::parsePhase(llvm::StringRef name) {
  for (const PhaseInfo &info : kPhases)
    if (info.name == name)
      return info.phase;
  return std::nullopt;
}

llvm::StringRef mlir::ember::phaseName(Phase phase) {
  for (const PhaseInfo &info : kPhases)
    if (info.phase == phase)
      return info.name;
  llvm_unreachable("unknown phase");
}

static llvm::SmallVector<Phase> phasesWhere(bool PhaseInfo::*target) {
  llvm::SmallVector<Phase> phases;
  for (const PhaseInfo &info : kPhases)
    if (info.*target)
      phases.push_back(info.phase);
  return phases;
}

llvm::ArrayRef<Phase> mlir::ember::targetPhases(Target target) {
  static const llvm::SmallVector<Phase> cpu = phasesWhere(&PhaseInfo::cpu), nvptx = phasesWhere(&PhaseInfo::nvptx);
  return target == Target::Cpu ? cpu : nvptx;
}

std::string mlir::ember::phaseNames(Target target) {
  return llvm::join(llvm::map_range(targetPhases(target), phaseName), "|");
}

static void addTextualPipeline(OpPassManager &pm, llvm::StringRef pipeline) {
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error(llvm::Twine("ember: malformed built-in pipeline: ") + pipeline);
}

void mlir::ember::addPhasePasses(OpPassManager &pm, Phase phase, const NvptxOptions &nvptx,
                                 const FusionOptions &fusion, const LoopOptions &loops) {
  switch (phase) {
  case Phase::Ember:
    return;
  case Phase::Fused:
    // 1. ember -> ember: the enabled fusions (passes/), shared by both targets.
    buildFusionPipeline(pm, fusion);
    return;
  case Phase::Loops:
    // 2. ember -> scf.parallel on memrefs: the loop IR both targets share.
    //    On the GPU, ops with a cooperative strategy become their kernels
    //    first (the op half of the kernel configuration step). The
    //    diagnostic build checks every op's output first.
    if (loops.checkFinite)
      pm.addPass(createEmberInsertFiniteChecks());
    if (loops.gpuStrategies && nvptx.cooperativeKernels)
      pm.addPass(createEmberGpuStrategies({nvptx.blockSize, loops.gatherBoundsCheck, nvptx.tensorCoreMinTokens}));
    pm.addPass(
        createEmberLowerToLoops({loops.gatherBoundsCheck, loops.normStatistics, loops.outputMajor, loops.vectorLanes}));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    return;
  case Phase::Llvm:
    // 3 (CPU). Loops -> LLVM dialect. scf.parallel runs sequentially on the
    //    CPU, so loop scratch moves to the function entry (one per function,
    //    not one per iteration); LLVM's vectorizer later works along the
    //    innermost dimension.
    addTextualPipeline(pm, "func.func(ember-hoist-static-allocas),"
                           "convert-scf-to-cf,expand-strided-metadata,lower-affine,"
                           "finalize-memref-to-llvm,func.func(convert-vector-to-llvm),"
                           "convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
                           "convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts");
    return;
  case Phase::Gpu:
    // 3 (GPU). The GPU mapping stage: each op's loops -> a gpu.launch with
    //    its strategy, block and grid (ember-map-to-gpu) -> outlined kernels;
    //    host temporaries move to device memory, nothing left on the host
    //    may dereference a memref, and every launch is within CUDA's limits.
    addTextualPipeline(
        pm, llvm::formatv("ember-map-to-gpu{{block-size={0}},gpu-launch-sink-index-computations,gpu-kernel-outlining,"
                          "ember-host-alloc-to-gpu,ember-check-host-memory-access,"
                          "ember-check-launch-limits{{chip={1}},canonicalize,cse",
                          nvptx.blockSize, nvptx.chip)
                .str());
    return;
  case Phase::Nvvm:
    // 4 (GPU). A host copy of every kernel (for a CUDA stand-in without a
    //    GPU), then kernel bodies -> NVVM; the target attribute fixes chip
    //    and ISA.
    addTextualPipeline(
        pm, llvm::formatv("ember-copy-kernels-to-host,nvvm-attach-target{{chip={0} features={1} O=3{2}},"
                          "convert-scf-to-cf,convert-nvvm-to-llvm,expand-strided-metadata,"
                          "lower-affine,func.func(convert-vector-to-llvm),convert-arith-to-llvm,convert-index-to-llvm,"
                          "canonicalize,cse,"
                          "gpu.module(convert-nvgpu-to-nvvm,convert-gpu-to-nvvm,canonicalize,cse,"
                          "reconcile-unrealized-casts)",
                          nvptx.chip, nvptx.features,
                          nvptx.libdevice.empty() ? "" : " l=" + nvptx.libdevice)
                .str());
    return;
  case Phase::Ptx:
    // 5 (GPU). Host side -> LLVM dialect (gpu-async-region puts each host
    //    function's allocations and launches on one stream, the form
    //    gpu-to-llvm lowers to mgpu* calls); kernels -> PTX text in
    //    gpu.binary; the host copies exported as cuLaunchKernel calls them.
    addTextualPipeline(pm, "func.func(gpu-async-region),gpu-to-llvm,finalize-memref-to-llvm,convert-func-to-llvm,"
                           "convert-cf-to-llvm,gpu-module-to-binary{format=isa},convert-math-to-llvm,"
                           "canonicalize,cse,reconcile-unrealized-casts,ember-host-kernel-entry-points");
    return;
  }
}

/// f32 lanes of the host's widest vector registers: what the CPU artifact,
/// compiled for this host (HostCodegen.cpp), runs its row-tiled dots with.
static int64_t hostVectorLanes() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  if (features.lookup("avx512f"))
    return 16;
  return features.lookup("avx2") ? 8 : 4;
}

LoopOptions mlir::ember::loopOptionsFor(Target target, LoopOptions loops) {
  loops.normStatistics = target == Target::Cpu ? NormStatistics::PerToken : NormStatistics::PerThread;
  loops.outputMajor = target == Target::Cpu;
  if (target != Target::Cpu)
    loops.vectorLanes = 0;
  else if (loops.vectorLanes < 0)
    loops.vectorLanes = hostVectorLanes();
  loops.gpuStrategies = target == Target::Nvptx;
  return loops;
}

FusionOptions mlir::ember::defaultFusions(Target target) {
  FusionOptions fusion;
  fusion.router = target == Target::Cpu;
  return fusion;
}

static void buildUpTo(OpPassManager &pm, Target target, Phase stopAfter,
                      const NvptxOptions &nvptx, const FusionOptions &fusion,
                      const LoopOptions &loops) {
  for (Phase phase : targetPhases(target)) {
    addPhasePasses(pm, phase, nvptx, fusion, loopOptionsFor(target, loops));
    if (phase == stopAfter)
      return;
  }
}

void mlir::ember::buildCpuPipeline(OpPassManager &pm, Phase stopAfter, const FusionOptions &fusion,
                                   const LoopOptions &loops) {
  buildUpTo(pm, Target::Cpu, stopAfter, {}, fusion, loops);
}

void mlir::ember::buildNvptxPipeline(OpPassManager &pm, const NvptxOptions &options,
                                     Phase stopAfter, const FusionOptions &fusion,
                                     const LoopOptions &loops) {
  buildUpTo(pm, Target::Nvptx, stopAfter, options, fusion, loops);
}

namespace {
/// cl::desc keeps a StringRef: the text must outlive the option.
llvm::StringRef compileToHelp(Target target) {
  static const std::string cpu = "Stop after this phase: " + phaseNames(Target::Cpu),
                           nvptx = "Stop after this phase: " + phaseNames(Target::Nvptx);
  return target == Target::Cpu ? cpu : nvptx;
}

struct CpuPipelineOptions : PassPipelineOptions<CpuPipelineOptions> {
  Option<std::string> compileTo{*this, "compile-to",
                                llvm::cl::desc(compileToHelp(Target::Cpu)),
                                llvm::cl::init("llvm")};
  Option<std::string> disableFusion{*this, "disable-fusion",
                                    llvm::cl::desc("Comma-separated fusions to skip, or 'all'"),
                                    llvm::cl::init("")};
  Option<int64_t> vectorLanes{
      *this, "vector-lanes",
      llvm::cl::desc("f32 lanes of the row-tiled dots of matmul-class ops; -1: the host's; 0: none"),
      llvm::cl::init(-1)};
};

struct NvptxPipelineOptions : PassPipelineOptions<NvptxPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("Target SM, e.g. sm_80 or sm_90"),
                           llvm::cl::init("sm_90")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features; CUDA 13 ptxas takes +ptx78..+ptx90"),
                               llvm::cl::init("+ptx80")};
  Option<int64_t> blockSize{*this, "block-size", llvm::cl::desc("Threads per block (the GPU mapping stage)"),
                            llvm::cl::init(128)};
  Option<bool> cooperativeKernels{
      *this, "cooperative-kernels",
      llvm::cl::desc("Cooperative strategies where one applies (false: every op thread_per_element)"),
      llvm::cl::init(true)};
  Option<int64_t> tensorCoreMinTokens{
      *this, "tensor-core-min-tokens",
      llvm::cl::desc("Tokens per step from which GEMV-class ops with bf16 weights run on tensor cores; 0 never"),
      llvm::cl::init(64)};
  Option<std::string> compileTo{*this, "compile-to",
                                llvm::cl::desc(compileToHelp(Target::Nvptx)),
                                llvm::cl::init("ptx")};
  Option<std::string> disableFusion{*this, "disable-fusion",
                                    llvm::cl::desc("Comma-separated fusions to skip, or 'all'"),
                                    llvm::cl::init("")};
};

/// Pipeline options are parsed before the pipeline is built, so an unknown
/// fusion name can only be reported here; it is fatal.
FusionOptions fusionOrDie(Target target, llvm::StringRef disabled) {
  FusionOptions fusion = defaultFusions(target);
  std::string error;
  if (failed(fusion.disable(disabled, error)))
    llvm::report_fatal_error(llvm::Twine("ember: disable-fusion: ") + error);
  return fusion;
}

/// Pipeline options are parsed before the pipeline is built, so a bad phase
/// name can only be reported here; it falls back to the full pipeline.
Phase phaseOrDefault(llvm::StringRef name, Phase fallback) {
  std::optional<Phase> phase = parsePhase(name);
  if (!phase) {
    llvm::errs() << "ember: unknown compile-to phase '" << name << "', using '"
                 << phaseName(fallback) << "'\n";
    return fallback;
  }
  return *phase;
}
} // namespace

void mlir::ember::registerEmberLoweringPassesAndPipelines() {
  registerEmberLoweringPasses();
  registerEmberLoweringCpuPasses();
  registerEmberLoweringNvptxPasses();
  PassPipelineRegistration<CpuPipelineOptions>(
      "ember-cpu-pipeline", "Lower ember IR to the LLVM dialect for the host CPU",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        LoopOptions loops;
        loops.vectorLanes = options.vectorLanes;
        buildCpuPipeline(pm, phaseOrDefault(options.compileTo, Phase::Llvm),
                         fusionOrDie(Target::Cpu, options.disableFusion), loops);
      });
  PassPipelineRegistration<NvptxPipelineOptions>(
      "ember-nvptx-pipeline", "Lower ember IR to PTX kernels (gpu.binary) and host LLVM IR",
      [](OpPassManager &pm, const NvptxPipelineOptions &options) {
        NvptxOptions nvptx;
        nvptx.chip = options.chip;
        nvptx.features = options.features;
        nvptx.blockSize = options.blockSize;
        nvptx.cooperativeKernels = options.cooperativeKernels;
        nvptx.tensorCoreMinTokens = options.tensorCoreMinTokens;
        buildNvptxPipeline(pm, nvptx, phaseOrDefault(options.compileTo, Phase::Ptx),
                           fusionOrDie(Target::Nvptx, options.disableFusion));
      });
}
