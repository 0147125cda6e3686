//===- CudaToolkit.cpp - the one place that finds CUDA tools and chips ----===//
#include "lowering/nvptx/CudaToolkit.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"

llvm::SmallVector<std::string> mlir::ember::cudaToolkitRoots() {
  llvm::SmallVector<std::string> roots;
  if (std::optional<std::string> home = llvm::sys::Process::GetEnv("CUDA_HOME"))
    roots.push_back(*home);
  roots.push_back("/usr/local/cuda");
  return roots;
}

std::string mlir::ember::findCudaTool(llvm::StringRef name) {
  for (const std::string &root : cudaToolkitRoots()) {
    llvm::SmallString<128> path(root);
    llvm::sys::path::append(path, "bin", name);
    if (llvm::sys::fs::can_execute(path))
      return path.str().str();
  }
  if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName(name))
    return *found;
  return "";
}

std::string mlir::ember::findLibdevice() {
  for (const std::string &root : cudaToolkitRoots()) {
    llvm::SmallString<128> path(root);
    llvm::sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
    if (llvm::sys::fs::exists(path))
      return path.str().str();
  }
  return "";
}

namespace {
// Opt-in shared memory per block from the CUDA C Programming Guide's table
// of compute capabilities (8.0: 163 KB, 8.6 and 8.9: 99 KB, 9.0: 227 KB);
// SMs from NVIDIA's data sheets.
constexpr mlir::ember::ChipInfo kChips[] = {{"sm_80", 163 * 1024, "A100", 108},
                                            {"sm_86", 99 * 1024, "A40", 84},
                                            {"sm_89", 99 * 1024, "L40S", 142},
                                            {"sm_90", 227 * 1024, "H100 SXM / H200", 132}};
} // namespace

std::optional<mlir::ember::ChipInfo> mlir::ember::lookupChip(llvm::StringRef chip) {
  for (const ChipInfo &info : kChips)
    if (info.name == chip)
      return info;
  return std::nullopt;
}

std::string mlir::ember::supportedChips() {
  return llvm::join(llvm::map_range(kChips, [](const ChipInfo &chip) { return chip.name; }), ", ");
}
