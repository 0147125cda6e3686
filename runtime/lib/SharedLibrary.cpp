#include "ember/runtime/SharedLibrary.h"

#include "ember/runtime/Error.h"

#include <dlfcn.h>
#include <elf.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace ember::rt {

static std::string lastDlError() {
  const char *message = dlerror();
  return message ? message : "unknown dlopen error";
}

// Throws when `path` is an ELF file whose headers reach past its end (a
// truncated artifact: dlopen maps it and the first access beyond the end
// raises SIGBUS). Files that are not 64-bit ELF are left to dlopen's message.
static void checkElfComplete(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!file.read(reinterpret_cast<char *>(&header), sizeof header) ||
      std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64)
    return;
  std::error_code error;
  uint64_t size = std::filesystem::file_size(path, error), reach = 0;
  if (error)
    return;
  reach = std::max<uint64_t>(reach, header.e_shoff + uint64_t(header.e_shnum) * header.e_shentsize);
  reach = std::max<uint64_t>(reach, header.e_phoff + uint64_t(header.e_phnum) * header.e_phentsize);
  if (reach <= size && header.e_phentsize == sizeof(Elf64_Phdr)) {
    file.seekg(std::streamoff(header.e_phoff));
    for (int i = 0; i < header.e_phnum; ++i) {
      Elf64_Phdr segment{};
      if (!file.read(reinterpret_cast<char *>(&segment), sizeof segment))
        break;
      if (segment.p_type == PT_LOAD)
        reach = std::max<uint64_t>(reach, segment.p_offset + segment.p_filesz);
    }
  }
  if (reach > size)
    throw Error(path + ": the artifact is truncated or damaged (its ELF headers reach byte " + std::to_string(reach) +
                ", the file has " + std::to_string(size) + "); delete it and compile it again");
}

SharedLibrary::SharedLibrary(const std::string &path) : path_(path) {
  checkElfComplete(path);
  dlerror(); // clear any stale error
  // A name without '/' would make dlopen search the library paths instead
  // of the working directory.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  handle_ = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_)
    throw Error(path + ": cannot load compiled artifact: " + lastDlError());
}

SharedLibrary::~SharedLibrary() { dlclose(handle_); }

void *SharedLibrary::findSymbol(const std::string &name) const { return dlsym(handle_, name.c_str()); }

void *SharedLibrary::symbol(const std::string &name) const {
  dlerror();
  void *address = dlsym(handle_, name.c_str());
  if (!address)
    throw Error(path_ + ": artifact lacks symbol '" + name + "': " + lastDlError());
  return address;
}

} // namespace ember::rt
