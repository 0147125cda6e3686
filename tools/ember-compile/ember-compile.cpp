//===- ember-compile.cpp - compile a model config to CPU or NVPTX code ----===//
//
// config.json -> ember IR -> loops -> {LLVM -> shared library | gpu -> NVVM
// -> PTX (-> cubin with ptxas)}. --compile-to stops after a named phase and
// prints its IR; --dump-dir keeps every phase, the PTX and the ptxas log.
// The graph is the whole LongCat-Flash-Lite decoder (models/DecoderGraph.h)
// plus the stand-alone n-gram embedding entry points.
//
//===----------------------------------------------------------------------===//
#include "ember/runtime/Config.h"
#include "ember/runtime/DType.h"
#include "ember/runtime/Error.h"
#include "lowering/Codegen.h"
#include "lowering/Passes.h"
#include "lowering/Registration.h"
#include "models/DecoderGraph.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/ToolOutputFile.h"

#include <chrono>

using namespace mlir;
namespace cl = llvm::cl;
namespace ec = mlir::ember;
namespace rt = ::ember::rt;

static cl::opt<std::string> configPath("config", cl::desc("Model config.json"), cl::Required,
                                       cl::value_desc("config.json"));
static cl::opt<std::string> targetName("target", cl::desc("cpu (shared library) or nvptx (PTX)"),
                                       cl::init("cpu"), cl::value_desc("cpu|nvptx"));
static cl::opt<std::string> chip("chip", cl::desc("NVPTX target SM: sm_80 or sm_90"),
                                 cl::init("sm_90"));
static cl::opt<std::string> ptxFeatures("ptx-features",
                                        cl::desc("PTX ISA features (CUDA 13 ptxas: +ptx78..+ptx90)"),
                                        cl::init("+ptx80"));
static cl::opt<std::string> weightDType("weight-dtype",
                                        cl::desc("Storage type of the weights: f32, bf16 or f16"),
                                        cl::init("bf16"));
static cl::opt<std::string> outputPath(
    "o", cl::desc("Output: a shared library (cpu) or a directory of .ptx/.cubin files (nvptx); "
                  "with --compile-to, the IR (default stdout)"),
    cl::value_desc("path"));
static cl::opt<std::string> compileTo(
    "compile-to",
    cl::desc("Stop after a phase and print its IR. cpu: ember|loops|llvm|llvm-ir; "
             "nvptx: ember|loops|gpu|nvvm|ptx (ptx prints the PTX text)"),
    cl::value_desc("phase"));
static cl::opt<std::string> dumpDir("dump-dir",
                                    cl::desc("Write every phase's IR, the PTX and the ptxas log here"),
                                    cl::value_desc("dir"));

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

ec::WeightType weightTypeFromFlag() {
  switch (rt::parseDTypeLower(weightDType)) {
  case rt::DType::F32: return ec::WeightType::F32;
  case rt::DType::BF16: return ec::WeightType::BF16;
  case rt::DType::F16: return ec::WeightType::F16;
  }
  llvm_unreachable("unknown dtype");
}

std::string findPtxas() {
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName("ptxas"))
    return *found;
  return "";
}

/// Writes one .ptx per kernel module (and .cubin + ptxas.log when ptxas is
/// installed) into a fresh directory that replaces `dir` only when complete.
size_t writeNvptxArtifact(ModuleOp module, llvm::StringRef dir) {
  std::vector<ec::KernelPtx> kernels = ec::collectPtx(module);
  std::string staging = (dir + ".tmp." + std::to_string(llvm::sys::Process::getProcessId())).str();
  llvm::sys::fs::remove_directories(staging);
  if (std::error_code ec = llvm::sys::fs::create_directories(staging))
    fail("cannot create " + staging + ": " + ec.message());
  std::string ptxas = findPtxas();
  std::string log;
  for (const ec::KernelPtx &kernel : kernels) {
    std::string ptxPath = (staging + "/" + kernel.module + ".ptx");
    writeFile(ptxPath, kernel.ptx);
    if (ptxas.empty())
      continue;
    std::string cubinPath = staging + "/" + kernel.module + ".cubin";
    ec::PtxasResult result = ec::runPtxas(ptxas, ptxPath, chip, cubinPath);
    log += "$ " + result.command + "\n" + result.log;
    if (!result.succeeded) {
      std::string keep = (dir + ".failed.ptx").str();
      writeFile(keep, kernel.ptx);
      llvm::sys::fs::remove_directories(staging);
      fail("ptxas failed on kernel module '" + kernel.module + "':\n" + result.log +
           "reproduce with: " + ptxas + " -v -arch=" + chip + " " + keep);
    }
  }
  // The log's commands name the final directory, so they can be rerun.
  log = llvm::join(llvm::split(log, staging), dir);
  if (!ptxas.empty())
    writeFile(staging + "/ptxas.log", log);
  if (!dumpDir.empty() && !log.empty())
    writeFile(dumpDir + "/ptxas.log", log);
  llvm::sys::fs::remove_directories(dir);
  if (std::error_code ec = llvm::sys::fs::rename(staging, dir))
    fail("cannot write " + dir + ": " + ec.message());
  if (ptxas.empty())
    llvm::errs() << "ember-compile: ptxas not found (/usr/local/cuda/bin/ptxas): wrote PTX only\n";
  return kernels.size();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  ec::registerAllEmberPasses();
  cl::ParseCommandLineOptions(argc, argv,
                              "ember-compile: compile the LongCat-Flash-Lite graph of a "
                              "config.json for the CPU or NVPTX\n");
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
  if (compileTo.empty() && outputPath.empty())
    fail("-o <path> is required unless --compile-to is given");

  rt::ModelConfig config;
  ec::WeightType weightType;
  try {
    config = rt::ModelConfig::load(configPath);
    weightType = weightTypeFromFlag();
  } catch (const rt::Error &error) {
    fail(error.what());
  }

  DialectRegistry registry;
  ec::registerAllEmberDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = ec::buildDecoderModule(context, config, weightType);
  if (!module)
    fail("cannot build the decoder graph for " + configPath);
  if (!dumpDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(dumpDir))
      fail("cannot create " + dumpDir + ": " + ec.message());

  ec::NvptxOptions nvptx;
  nvptx.chip = chip;
  nvptx.features = ptxFeatures;
  llvm::ArrayRef<ec::Phase> phases = ec::targetPhases(target);
  for (auto [index, phase] : llvm::enumerate(phases)) {
    PassManager pm(&context);
    if (failed(applyPassManagerCLOptions(pm)))
      fail("invalid pass manager options");
    ec::addPhasePasses(pm, phase, nvptx);
    if (failed(pm.run(*module)))
      fail(llvm::Twine("phase '") + ec::phaseName(phase) + "' failed for " + configPath);
    if (!dumpDir.empty())
      writeFile(llvm::formatv("{0}/{1:2}-{2}.mlir", dumpDir, index, ec::phaseName(phase)).str(),
                printIr(*module));
    if (stopAfter == phase) {
      std::string text = printIr(*module);
      if (phase == ec::Phase::Ptx)
        text = llvm::join(llvm::map_range(ec::collectPtx(*module),
                                          [](const ec::KernelPtx &k) { return k.ptx; }),
                          "\n");
      writeFile(outputPath.empty() ? "-" : outputPath.getValue(), text);
      return 0;
    }
  }

  size_t kernels = 0;
  if (target == ec::Target::Cpu) {
    if (printLlvmIr) {
      llvm::Expected<std::string> ir = ec::emitOptimizedHostIr(*module);
      if (!ir)
        fail(llvm::toString(ir.takeError()));
      writeFile(outputPath.empty() ? "-" : outputPath.getValue(), *ir);
      return 0;
    }
    std::string optimizedIr;
    if (llvm::Error error = ec::emitHostSharedLibrary(*module, outputPath,
                                                         dumpDir.empty() ? nullptr : &optimizedIr))
      fail(llvm::toString(std::move(error)));
    if (!dumpDir.empty())
      writeFile(dumpDir + "/" + std::to_string(phases.size()) + "-llvm-ir.ll", optimizedIr);
  } else {
    for (const ec::KernelPtx &kernel : ec::collectPtx(*module))
      if (!dumpDir.empty())
        writeFile(dumpDir + "/" + kernel.module + ".ptx", kernel.ptx);
    kernels = writeNvptxArtifact(*module, outputPath);
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  llvm::errs() << llvm::formatv("ember-compile: {0} -> {1} ({2}{3}) in {4:F2} s\n", configPath,
                                outputPath, targetName,
                                target == ec::Target::Nvptx
                                    ? llvm::formatv(", {0}, {1} kernels", chip, kernels).str()
                                    : std::string(),
                                seconds);
  return 0;
}
