//===- ember-compile.cpp - compile a model config to CPU or NVPTX code ----===//
//
// config.json -> ember IR -> loops -> {LLVM | gpu -> NVVM -> PTX (-> cubin
// or fatbin with the CUDA toolkit)} -> a host shared library (for nvptx with
// the kernels embedded; it calls the runtime's mgpu* functions).
// --compile-to stops after a named phase and prints its IR; --dump-dir keeps
// every phase, the PTX, cubins, the ptxas log and ptxas-report.txt (per
// kernel: registers, shared memory, stack, spill bytes); --ptxas-report
// prints that table. A kernel that spills fails the compilation unless
// --allow-spills. --report prints the static traffic model of a decode step
// after the fused phase (passes/TrafficModel.h) and, for nvptx, the launch
// shape of every kernel after the GPU mapping stage (LaunchShapes.h).
// The graph is the whole LongCat-Flash-Lite decoder (models/DecoderGraph.h)
// plus the stand-alone n-gram embedding entry points.
//
//===----------------------------------------------------------------------===//
#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/AtomicFile.h"
#include "ember/runtime/CommandLine.h"
#include "ember/model/Config.h"
#include "ember/model/DType.h"
#include "ember/model/Error.h"
#include "ember/runtime/ModelStamp.h"
#include "ember/runtime/Process.h"
#include "ember/runtime/SharedLibrary.h"
#include "lowering/HostCodegen.h"
#include "lowering/Passes.h"
#include "lowering/Registration.h"
#include "lowering/nvptx/CudaToolkit.h"
#include "lowering/nvptx/KernelBinaries.h"
#include "lowering/nvptx/KernelManifest.h"
#include "lowering/nvptx/LaunchShapes.h"
#include "models/DecoderGraph.h"
#include "passes/TrafficModel.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <unistd.h>

using namespace mlir;
namespace cl = llvm::cl;
namespace ec = mlir::ember;
namespace rt = ::ember::rt;

// ember's own options; --help lists these (LLVM's and MLIR's registered
// options stay usable, listed by --help-hidden).
static cl::OptionCategory emberOptions("ember-compile options");

static cl::opt<std::string> configPath("config", cl::cat(emberOptions), cl::desc("Model config.json (required)"),
                                       cl::value_desc("config.json"));
static cl::opt<std::string> targetName("target", cl::cat(emberOptions), cl::desc("cpu or nvptx (CUDA kernels)"),
                                       cl::init("cpu"), cl::value_desc("cpu|nvptx"));
static cl::opt<std::string> chip("chip", cl::cat(emberOptions),
                                 cl::desc("NVPTX target SM: sm_80, sm_86, sm_89 or sm_90"), cl::init("sm_90"));
static cl::opt<std::string> ptxFeatures("ptx-features", cl::cat(emberOptions),
                                        cl::desc("PTX ISA features (CUDA 13 ptxas: +ptx78..+ptx90)"),
                                        cl::init("+ptx80"));
static cl::opt<std::string>
    weightDType("weight-dtype", cl::cat(emberOptions),
                cl::desc("Storage type of the weights: f32, bf16, f16, or f8e4m3 (an FP8 release's format: the "
                         "matmul weights it quantizes in F8E4M3 with their block scales, from the config's "
                         "quantization_config, dequantized inside the kernels; the rest bf16)"),
                cl::init("bf16"));
static cl::opt<std::string>
    outputPath("o", cl::cat(emberOptions),
               cl::desc("Output: a shared library (nvptx: host code with the kernels embedded); "
                        "with --compile-to, the IR (default stdout)"),
               cl::value_desc("path"));
static cl::opt<bool> forceOutput("force", cl::cat(emberOptions), cl::desc("Replace a read-only -o file"),
                                 cl::init(false));
static cl::opt<bool> quiet("quiet", cl::cat(emberOptions),
                           cl::desc("No summary line on stderr (the artifact cache's compiles: their caller reports)"),
                           cl::init(false));
static cl::opt<std::string>
    kernelFormat("kernel-format", cl::cat(emberOptions),
                 cl::desc("nvptx: how kernels are embedded: ptx (JIT-compiled by the driver), cubin, "
                          "fatbin (cubin + PTX), or auto: fatbin when ptxas is installed, else ptx"),
                 cl::init("auto"), cl::value_desc("auto|ptx|cubin|fatbin"));
static cl::opt<std::string>
    compileTo("compile-to", cl::cat(emberOptions),
              cl::desc("Stop after a phase and print its IR. cpu: ember|fused|loops|llvm|llvm-ir; "
                       "nvptx: ember|fused|loops|gpu|nvvm|ptx (ptx prints the PTX text)"),
              cl::value_desc("phase"));
static cl::opt<std::string>
    disableFusion("disable-fusion", cl::cat(emberOptions),
                  cl::desc("Comma-separated fusion passes to skip in the 'fused' phase, or 'all' "
                           "(see docs/passes.md)"),
                  cl::value_desc("names"));
static cl::opt<bool> cooperativeKernels(
    "cooperative-kernels", cl::cat(emberOptions),
    cl::desc("nvptx: give ops a cooperative kernel strategy where one applies (warp_per_row, "
             "mma_sync_tile, block_per_row, block_split_k, split_kv; docs/gpu.md); =false maps every op "
             "thread_per_element"),
    cl::init(true));
static cl::opt<int64_t> tensorCoreMinTokens(
    "tensor-core-min-tokens", cl::cat(emberOptions),
    cl::desc("nvptx: tokens per step from which linear, norm_linear, swiglu and norm_swiglu with bf16 "
             "weights run on tensor cores (mma_sync_tile; docs/gpu.md); 0 never"),
    cl::init(ec::NvptxOptions().tensorCoreMinTokens), cl::value_desc("T"));
static cl::opt<std::string>
    enableFusion("enable-fusion", cl::cat(emberOptions),
                 cl::desc("Comma-separated fusion passes to run although the target leaves them off by default "
                          "(nvptx: router), or 'all'; --disable-fusion wins"),
                 cl::value_desc("names"));
static cl::opt<int64_t>
    moeRowsPerTile("moe-rows-per-tile", cl::cat(emberOptions),
                   cl::desc("Rows of one expert an expert gate/up thread computes together, each expert's "
                            "rows padded to a multiple of it (the moe fusion; 1: no padding)"),
                   cl::init(ec::FusionOptions().moeRowsPerTile), cl::value_desc("N"));
static cl::opt<int64_t>
    cpuVectorLanes("cpu-vector-lanes", cl::cat(emberOptions),
                   cl::desc("cpu: f32 lanes of the SIMD dot products of the matmul-class ops (linear, swiglu, "
                            "norm_linear, norm_swiglu, the routed experts, mla_absorb, mla_up_v, the router's logits; "
                            "lowering/RowTiledDots.h); default: the host's (16 with AVX-512, 8 with AVX2, else 4); 0 "
                            "leaves those loops to LLVM's vectorizer"),
                   cl::init(-1), cl::value_desc("N"));
static cl::opt<ec::GatherBoundsCheck> gatherBoundsCheck(
    "gather-bounds-check", cl::cat(emberOptions),
    cl::desc("What a table gather (word embedding, n-gram tables) does with a row id outside "
             "its table; the runtime rejects out-of-range token ids before every call"),
    cl::values(clEnumValN(ec::GatherBoundsCheck::Fatal, "fatal", "abort (CPU) or trap (GPU) with a message"),
               clEnumValN(ec::GatherBoundsCheck::Clamp, "clamp",
                          "read the table's last row instead (default: never reads outside "
                          "the weights, costs one min per row)"),
               clEnumValN(ec::GatherBoundsCheck::None, "none", "no check")),
    cl::init(ec::GatherBoundsCheck::Clamp));
static cl::opt<bool> checkFinite(
    "check-finite", cl::cat(emberOptions),
    cl::desc("Diagnostic build: after every op, its f32 outputs are checked for NaN and Inf at run time and "
             "the first non-finite one is recorded (ember-run re-runs a step whose logits are not finite "
             "with such a build to name the op); slow"));
static cl::opt<bool> listFusions("list-fusions", cl::cat(emberOptions),
                                 cl::desc("Print the fusion names --disable-fusion takes, comma-separated, "
                                          "and exit"));
static cl::opt<bool> report("report", cl::cat(emberOptions),
                            cl::desc("Print the static traffic model of a decode step (after the "
                                     "fused phase) and, for nvptx, each kernel's launch shape (grid, "
                                     "block, loop iterations per thread) instead of compiling"));
static cl::opt<int64_t> batch("batch", cl::cat(emberOptions), cl::desc("--report: tokens per step (T)"), cl::init(1));
static cl::opt<int64_t> reportSequences("report-sequences", cl::cat(emberOptions),
                                        cl::desc("--report: the sequences the T tokens belong to (S), each after P "
                                                 "cached positions of its own: T for a batched decode step "
                                                 "(default 1: a prompt's chunk)"),
                                        cl::init(1));
static cl::opt<int64_t> reportPosition("report-position", cl::cat(emberOptions),
                                       cl::desc("--report: cached positions before the step (P); default "
                                                "min(4096, max_position_embeddings - T)"),
                                       cl::init(-1));
static cl::opt<std::string> reportFunction("report-function", cl::cat(emberOptions),
                                           cl::desc("--report: the entry function to model"), cl::init("ember_step"));
static cl::opt<std::string> dumpDir("dump-dir", cl::cat(emberOptions),
                                    cl::desc("Write every phase's IR, the kernels' PTX, cubins, "
                                             "ptxas.log and ptxas-report.txt here"),
                                    cl::value_desc("dir"));
static cl::opt<bool>
    ptxasReport("ptxas-report", cl::cat(emberOptions),
                cl::desc("nvptx with ptxas (cubin, fatbin): print each kernel's registers, shared memory, "
                         "stack and spill bytes from ptxas -v to stdout (also written to "
                         "<dump-dir>/ptxas-report.txt)"));
static cl::opt<bool> allowSpills("allow-spills", cl::cat(emberOptions),
                                 cl::desc("Do not fail when ptxas reports register spills (they are still reported)"));

namespace {

[[noreturn]] void fail(const llvm::Twine &message) {
  llvm::errs() << "ember-compile: error: " << message << "\n";
  std::exit(1);
}

void writeFile(llvm::StringRef path, llvm::StringRef text) {
  std::string error;
  auto file = mlir::openOutputFile(path, &error);
  if (!file)
    fail("cannot write " + path + ": " + error);
  file->os() << text;
  file->keep();
}

std::string printIr(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  return text;
}

/// --weight-dtype, as the model stamp names it (F8E4M3: the FP8 weight
/// format, which needs the config's quantization_config).
::ember::DType weightDTypeFromFlag(const ::ember::ModelConfig &config) {
  if (weightDType != ::ember::dtypeLowerName(::ember::DType::F8E4M3)) {
    for (::ember::DType dtype : {::ember::DType::F32, ::ember::DType::BF16, ::ember::DType::F16})
      if (weightDType == ::ember::dtypeLowerName(dtype))
        return dtype;
    throw ::ember::Error("unknown --weight-dtype '" + weightDType + "' (expected f32, bf16, f16 or f8e4m3)");
  }
  if (!config.fp8)
    throw ::ember::Error("--weight-dtype f8e4m3 needs the block size of quantization_config.weight_block_size, "
                         "and " +
                         config.path + " has no quantization_config");
  return ::ember::DType::F8E4M3;
}

ec::WeightType weightTypeOf(::ember::DType dtype) {
  switch (dtype) {
  case ::ember::DType::F32:
    return ec::WeightType::F32;
  case ::ember::DType::BF16:
    return ec::WeightType::BF16;
  case ::ember::DType::F16:
    return ec::WeightType::F16;
  case ::ember::DType::F8E4M3:
    return ec::WeightType::FP8;
  }
  llvm_unreachable("unknown dtype");
}

/// --kernel-format; auto takes the best the installed CUDA toolkit allows.
ec::KernelFormat chooseKernelFormat() {
  if (kernelFormat == "ptx")
    return ec::KernelFormat::Ptx;
  if (kernelFormat == "cubin")
    return ec::KernelFormat::Cubin;
  if (kernelFormat == "fatbin")
    return ec::KernelFormat::Fatbin;
  if (kernelFormat != "auto")
    fail("--kernel-format must be auto, ptx, cubin or fatbin, got '" + kernelFormat + "'");
  if (ec::findCudaTool("ptxas").empty()) {
    llvm::errs() << "ember-compile: ptxas not found (/usr/local/cuda/bin/ptxas): kernels are "
                    "embedded as PTX, compiled by the driver when the artifact loads\n";
    return ec::KernelFormat::Ptx;
  }
  return ec::findCudaTool("fatbinary").empty() ? ec::KernelFormat::Cubin : ec::KernelFormat::Fatbin;
}

/// Removes the kernel folders ("<tmp>/ember-kernels-*") of nvptx compiles
/// killed midway: while a compile runs, its folder holds
/// "running.tmp.<pid>", and a folder whose process is gone is left over.
void sweepKilledKernelFolders() {
  llvm::SmallString<128> temporary;
  llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, temporary);
  std::error_code ec;
  for (const auto &folder : std::filesystem::directory_iterator(temporary.str().str(), ec)) {
    if (folder.path().filename().string().rfind("ember-kernels-", 0) != 0 || !folder.is_directory(ec))
      continue;
    for (const auto &entry : std::filesystem::directory_iterator(folder.path(), ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("running.tmp.", 0) == 0 && rt::temporaryOwnerIsGone(name)) {
        std::filesystem::remove_all(folder.path(), ec);
        break;
      }
    }
  }
}

/// Replaces the PTX in the module by the chosen kernel format and marks the
/// module as an nvptx artifact; PTX, cubins, the ptxas log and report go to
/// the dump directory, else to a temporary one that is kept only when ptxas
/// fails or a kernel spills.
ec::KernelFormat embedKernels(ModuleOp module) {
  ec::KernelFormat format = chooseKernelFormat();
  std::string workDir = dumpDir, runningMark;
  if (workDir.empty()) {
    sweepKilledKernelFolders();
    llvm::SmallString<128> created;
    if (std::error_code ec = llvm::sys::fs::createUniqueDirectory("ember-kernels", created))
      fail("cannot create a temporary directory: " + ec.message());
    workDir = created.str().str();
    runningMark = workDir + "/running.tmp." + std::to_string(::getpid());
    writeFile(runningMark, "");
  }
  // A folder kept for a failure is the user's now: no sweep may take it.
  auto keep = [&] {
    if (!runningMark.empty())
      llvm::sys::fs::remove(runningMark);
  };
  ec::PtxasReport ptxas;
  llvm::Error error = ec::assembleKernels(module, format, chip, workDir, ptxas);
  std::string table = ec::formatPtxasReport(ptxas.kernels, chip);
  if (!dumpDir.empty() && !ptxas.log.empty()) {
    writeFile(dumpDir + "/ptxas.log", ptxas.log);
    writeFile(dumpDir + "/ptxas-report.txt", table);
  }
  if (error) {
    keep();
    fail(llvm::toString(std::move(error)));
  }
  if (format == ec::KernelFormat::Ptx) {
    if (ptxasReport)
      llvm::errs() << "ember-compile: no ptxas report: kernels are embedded as PTX, not "
                      "assembled\n";
  } else if (ptxasReport) {
    llvm::outs() << table;
    llvm::outs().flush(); // before the summary on stderr
  }
  // Spills cost local-memory traffic in every thread: fail, keeping the PTX
  // (the work directory) for the reproducing command.
  std::string spills = ec::describeSpills(ptxas.kernels);
  if (!spills.empty() && !allowSpills) {
    keep();
    fail("register spills (--allow-spills accepts them):\n" + spills + "PTX kept in " + workDir);
  }
  if (dumpDir.empty())
    llvm::sys::fs::remove_directories(workDir);
  ec::addNvptxArtifactMarker(module, chip, format);
  return format;
}

/// --report's T and P.
ec::TrafficOptions reportOptions(const ::ember::ModelConfig &config) {
  ec::TrafficOptions options;
  options.function = reportFunction;
  options.tokens = batch;
  options.sequences = reportSequences;
  options.position = reportPosition >= 0
                         ? int64_t(reportPosition)
                         : std::max<int64_t>(0, std::min<int64_t>(4096, config.maxPositionEmbeddings - batch));
  return options;
}

/// --report, part 1: the traffic model after the fused phase.
std::string trafficReport(ModuleOp module, const ec::TrafficOptions &options) {
  FailureOr<ec::TrafficReport> traffic = ec::modelTraffic(module, options);
  if (failed(traffic))
    fail("cannot model the traffic of @" + reportFunction);
  std::string text;
  llvm::raw_string_ostream os(text);
  ec::printTrafficReport(*traffic, os);
  return text;
}

/// --report, part 2 (nvptx): the launch shapes after the GPU mapping stage.
std::string launchShapeReport(ModuleOp module, const ec::TrafficOptions &options, const ec::ChipInfo &chip) {
  FailureOr<std::vector<ec::KernelLaunchShape>> shapes = ec::modelLaunchShapes(module, options);
  if (failed(shapes))
    fail("cannot model the launch shapes of @" + reportFunction);
  std::string text;
  llvm::raw_string_ostream os(text);
  ec::printLaunchShapes(*shapes, options, chip.multiprocessors, chip.part, os);
  return text;
}

} // namespace

// --help lists ember's options and MLIR's IR-printing and timing options;
// every other option LLVM and MLIR register stays usable, listed by
// --help-hidden.
void organizeHelp() {
  static cl::OptionCategory mlirDebugging("MLIR debugging options");
  for (auto &[name, option] : cl::getRegisteredOptions()) {
    if (llvm::is_contained(option->Categories, &emberOptions) || name == "help" || name == "version")
      continue;
    bool debugging =
        llvm::any_of(llvm::ArrayRef<llvm::StringRef>{"mlir-print-ir", "mlir-timing", "mlir-pass-statistics",
                                                     "mlir-disable-threading", "mlir-print-debuginfo"},
                     [&](llvm::StringRef prefix) { return name.starts_with(prefix); });
    if (debugging)
      option->addCategory(mlirDebugging);
    else
      option->setHiddenFlag(cl::Hidden);
  }
}

int main(int argc, char **argv) {
  // Started by ember-run's artifact cache (or ember-bench): die with it.
  rt::exitWithParent();
  llvm::InitLLVM initLLVM(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  ec::registerAllEmberPasses();
  organizeHelp();
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << rt::versionLine("ember-compile") << "\n";
  });
  cl::ParseCommandLineOptions(argc, argv,
                              "ember-compile: compile the LongCat-Flash-Lite graph of a "
                              "config.json for the CPU or NVPTX\n");
  if (listFusions) {
    llvm::outs() << ec::fusionNames() << "\n";
    return 0;
  }
  if (configPath.empty())
    fail("--config <config.json> is required");
  auto started = std::chrono::steady_clock::now();

  ec::Target target;
  if (targetName == "cpu")
    target = ec::Target::Cpu;
  else if (targetName == "nvptx")
    target = ec::Target::Nvptx;
  else
    fail("--target must be cpu or nvptx, got '" + targetName + "'");
  bool printLlvmIr = target == ec::Target::Cpu && compileTo == "llvm-ir";
  std::optional<ec::Phase> stopAfter;
  if (!compileTo.empty() && !printLlvmIr) {
    stopAfter = ec::parsePhase(compileTo);
    if (!stopAfter || !llvm::is_contained(ec::targetPhases(target), *stopAfter))
      fail("--compile-to=" + compileTo + " is not a phase of target " + targetName);
  }
  if (compileTo.empty() && outputPath.empty() && !report)
    fail("-o <path> is required unless --compile-to or --report is given");
  if (report && !compileTo.empty())
    fail("--report and --compile-to cannot be combined");
  if (batch < 1)
    fail("--batch must be at least 1");
  if (reportSequences < 1 || reportSequences > batch)
    fail("--report-sequences must be between 1 and --batch (" + std::to_string(batch) + "), got " +
         std::to_string(reportSequences));

  ::ember::ModelConfig config;
  ::ember::DType weightsDType;
  try {
    config = ::ember::ModelConfig::load(configPath);
    weightsDType = weightDTypeFromFlag(config);
    // Before any work: a bad -o fails now, not after the compile.
    if (!outputPath.empty() && outputPath != "-") {
      rt::checkOutputPath(outputPath, "-o", forceOutput);
      // What a killed compile left beside this -o.
      llvm::SmallString<256> folder(outputPath.getValue());
      llvm::sys::path::remove_filename(folder);
      rt::sweepStaleTemporaries(folder.empty() ? "." : std::string(folder),
                                llvm::sys::path::filename(outputPath).str() + ".");
    }
  } catch (const ::ember::Error &error) {
    fail(error.what());
  }

  DialectRegistry registry;
  ec::registerAllEmberDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = ec::buildDecoderModule(context, config, weightTypeOf(weightsDType));
  if (!module)
    fail("cannot build the decoder graph for " + configPath);
  if (!dumpDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(dumpDir))
      fail("--dump-dir: cannot create " + dumpDir + ": " + ec.message());
    // Before the compile, not at its first dump.
    if (!llvm::sys::fs::is_directory(dumpDir.getValue()))
      fail("--dump-dir: " + dumpDir + " is not a folder");
    if (::access(dumpDir.c_str(), W_OK) != 0)
      fail("--dump-dir: " + dumpDir + " is not writable: " + std::strerror(errno));
  }

  if (target == ec::Target::Nvptx && !ec::lookupChip(chip))
    fail("--chip " + chip + " is not a chip ember compiles for (" + ec::supportedChips() + ")");
  if (target != ec::Target::Nvptx && chip.getNumOccurrences())
    fail("--chip applies to --target nvptx (the CPU target compiles for the host)");
  ec::NvptxOptions nvptx;
  nvptx.chip = chip;
  nvptx.features = ptxFeatures;
  nvptx.cooperativeKernels = cooperativeKernels;
  if (tensorCoreMinTokens < 0)
    fail("--tensor-core-min-tokens must be >= 0, got " + std::to_string(tensorCoreMinTokens));
  nvptx.tensorCoreMinTokens = tensorCoreMinTokens;
  ec::FusionOptions fusion = ec::defaultFusions(target);
  std::string fusionError;
  if (failed(fusion.enable(enableFusion, fusionError)))
    fail("--enable-fusion: " + fusionError);
  if (failed(fusion.disable(disableFusion, fusionError)))
    fail("--disable-fusion: " + fusionError);
  if (moeRowsPerTile < 1)
    fail("--moe-rows-per-tile must be >= 1, got " + std::to_string(moeRowsPerTile));
  fusion.moeRowsPerTile = moeRowsPerTile;
  if (cpuVectorLanes.getNumOccurrences() &&
      (cpuVectorLanes < 0 || cpuVectorLanes > 64 || (cpuVectorLanes & (cpuVectorLanes - 1)) != 0))
    fail("--cpu-vector-lanes must be 0 or a power of two up to 64, got " + std::to_string(cpuVectorLanes));
  ec::LoopOptions loops;
  loops.gatherBoundsCheck = gatherBoundsCheck;
  loops.vectorLanes = cpuVectorLanes;
  loops.checkFinite = checkFinite;
  llvm::ArrayRef<ec::Phase> phases = ec::targetPhases(target);
  // nvptx artifacts carry a manifest of their kernels: what op each is, its
  // mapping and its modelled traffic (fitted on the fused phase's IR).
  bool buildsArtifact = target == ec::Target::Nvptx && !stopAfter && !report;
  llvm::StringMap<std::optional<ec::TrafficPolynomial>> kernelTraffic;
  std::string kernelManifest, reportText;
  // --mlir-timing: one report, each phase's passes nested under its name.
  DefaultTimingManager timing;
  applyDefaultTimingManagerCLOptions(timing);
  TimingScope compileTiming = timing.getRootScope();
  for (auto [index, phase] : llvm::enumerate(phases)) {
    TimingScope phaseTiming = compileTiming.nest(ec::phaseName(phase));
    PassManager pm(&context);
    if (failed(applyPassManagerCLOptions(pm)))
      fail("invalid pass manager options");
    pm.enableTiming(phaseTiming);
    ec::addPhasePasses(pm, phase, nvptx, fusion, ec::loopOptionsFor(target, loops));
    if (failed(pm.run(*module)))
      fail(llvm::Twine("phase '") + ec::phaseName(phase) + "' failed for " + configPath);
    if (!dumpDir.empty())
      writeFile(llvm::formatv("{0}/{1:2}-{2}.mlir", dumpDir, index, ec::phaseName(phase)).str(), printIr(*module));
    if (report && phase == ec::Phase::Fused)
      reportText = trafficReport(*module, reportOptions(config));
    if (report && phase == ec::Phase::Gpu)
      reportText += "\n" + launchShapeReport(*module, reportOptions(config), *ec::lookupChip(chip));
    if (report && (phase == ec::Phase::Gpu || (target == ec::Target::Cpu && phase == ec::Phase::Fused))) {
      writeFile(outputPath.empty() ? "-" : outputPath.getValue(), reportText);
      return 0;
    }
    if (buildsArtifact && phase == ec::Phase::Fused)
      kernelTraffic = ec::fitKernelTraffic(*module);
    if (buildsArtifact && phase == ec::Phase::Gpu)
      kernelManifest = ec::buildKernelManifest(*module, kernelTraffic);
    if (stopAfter == phase) {
      std::string text = printIr(*module);
      if (phase == ec::Phase::Ptx)
        text = llvm::join(llvm::map_range(ec::collectPtx(*module), [](const ec::KernelPtx &k) { return k.ptx; }), "\n");
      writeFile(outputPath.empty() ? "-" : outputPath.getValue(), text);
      return 0;
    }
  }

  if (printLlvmIr) {
    llvm::Expected<std::string> ir = ec::emitOptimizedHostIr(*module);
    if (!ir)
      fail(llvm::toString(ir.takeError()));
    writeFile(outputPath.empty() ? "-" : outputPath.getValue(), *ir);
    return 0;
  }
  ec::addExportedString(*module, rt::kModelStampSymbol, rt::modelStamp(config, weightsDType));
  std::string details;
  if (target == ec::Target::Nvptx) {
    auto binaries = module->getOps<gpu::BinaryOp>();
    size_t kernels = std::distance(binaries.begin(), binaries.end());
    ec::KernelFormat format = embedKernels(*module);
    ec::addExportedString(*module, "ember_kernel_manifest", kernelManifest);
    details = llvm::formatv(", {0}, {1} kernels, {2}", chip, kernels, ec::kernelFormatName(format));
  }
  // Linked and sealed under a temporary name beside -o, then renamed into
  // place: a killed compile leaves only temporaries, swept by the next.
  std::string optimizedIr, temporary = outputPath + ".tmp." + std::to_string(::getpid());
  if (llvm::Error error = ec::emitHostSharedLibrary(*module, temporary, dumpDir.empty() ? nullptr : &optimizedIr))
    fail(llvm::toString(std::move(error)));
  try {
    rt::sealArtifact(temporary);
  } catch (const ::ember::Error &error) {
    llvm::sys::fs::remove(temporary);
    fail(error.what());
  }
  if (std::error_code error = llvm::sys::fs::rename(temporary, outputPath)) {
    llvm::sys::fs::remove(temporary);
    fail("cannot write " + outputPath + ": " + error.message());
  }
  if (!dumpDir.empty())
    writeFile(llvm::formatv("{0}/{1:2}-llvm-ir.ll", dumpDir, phases.size()).str(), optimizedIr);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!quiet)
    llvm::errs() << llvm::formatv("ember-compile: {0} -> {1} ({2}{3}) in {4:F2} s\n", configPath, outputPath,
                                  targetName, details, seconds);
  return 0;
}
