#include "ember/runtime/SharedLibrary.h"

#include "ember/model/Error.h"
#include "ember/runtime/Hash.h"

#include <dlfcn.h>
#include <elf.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

namespace ember::rt {

static std::string lastDlError() {
  const char *message = dlerror();
  return message ? message : "unknown dlopen error";
}

// Reads `file`'s ELF header; false unless it is ELF64.
static bool readElf64Header(std::ifstream &file, Elf64_Ehdr &header) {
  return file.read(reinterpret_cast<char *>(&header), sizeof header) &&
         std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 && header.e_ident[EI_CLASS] == ELFCLASS64;
}

// Files that are not 64-bit ELF are left to dlopen's message.
void checkElfComplete(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!readElf64Header(file, header))
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

namespace {

constexpr char kSealMagic[8] = {'E', 'M', 'B', 'E', 'R', 'S', 'U', 'M'};
constexpr size_t kSealBytes = 24;

// FNV-1a 64 of the first `bytes` bytes of `file`.
uint64_t checksum(std::ifstream &file, uint64_t bytes) {
  std::vector<char> chunk(size_t(1) << 20);
  uint64_t hash = kFnv1a64Start;
  file.seekg(0);
  while (bytes > 0 && file.read(chunk.data(), std::streamsize(std::min<uint64_t>(bytes, chunk.size())))) {
    hash = fnv1a64(chunk.data(), size_t(file.gcount()), hash);
    bytes -= uint64_t(file.gcount());
  }
  return hash;
}

uint64_t littleEndian(const unsigned char *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = value << 8 | bytes[i];
  return value;
}

} // namespace

void sealArtifact(const std::string &path) {
  std::error_code error;
  uint64_t size = std::filesystem::file_size(path, error);
  std::ifstream in(path, std::ios::binary);
  if (error || !in)
    throw Error(path + ": cannot read the artifact to seal it");
  uint64_t hash = checksum(in, size);
  unsigned char seal[kSealBytes];
  std::memcpy(seal, kSealMagic, sizeof kSealMagic);
  for (int i = 0; i < 8; ++i) {
    seal[8 + i] = static_cast<unsigned char>(hash >> (8 * i));
    seal[16 + i] = static_cast<unsigned char>(size >> (8 * i));
  }
  std::ofstream out(path, std::ios::binary | std::ios::app);
  if (!out.write(reinterpret_cast<const char *>(seal), sizeof seal) || !out.flush())
    throw Error(path + ": cannot append the artifact's seal");
}

bool checkArtifactSeal(const std::string &path) {
  std::error_code error;
  uint64_t size = std::filesystem::file_size(path, error);
  std::ifstream file(path, std::ios::binary);
  unsigned char seal[kSealBytes];
  if (error || size < kSealBytes || !file.seekg(std::streamoff(size - kSealBytes)) ||
      !file.read(reinterpret_cast<char *>(seal), sizeof seal) || std::memcmp(seal, kSealMagic, sizeof kSealMagic))
    return false;
  uint64_t sealedBytes = littleEndian(seal + 16), sealedHash = littleEndian(seal + 8);
  if (sealedBytes != size - kSealBytes)
    throw Error(path + ": the artifact is damaged: ember-compile sealed " + std::to_string(sealedBytes) +
                " bytes, the file holds " + std::to_string(size - kSealBytes) +
                " before its seal; delete it and compile it again");
  uint64_t hash = checksum(file, sealedBytes);
  if (hash != sealedHash)
    throw Error(path + ": the artifact is damaged: its bytes hash to " + hex64(hash) + ", its seal says " +
                hex64(sealedHash) + "; delete it and compile it again");
  return true;
}

bool isElf64File(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  Elf64_Ehdr header{};
  return readElf64Header(file, header);
}

std::optional<std::string> readExportedString(const std::string &path, const std::string &name) {
  std::ifstream file(path, std::ios::binary);
  std::error_code error;
  uint64_t size = std::filesystem::file_size(path, error);
  Elf64_Ehdr header{};
  if (error || !readElf64Header(file, header) || header.e_shentsize != sizeof(Elf64_Shdr) || header.e_shoff > size ||
      uint64_t(header.e_shnum) * sizeof(Elf64_Shdr) > size - header.e_shoff)
    return std::nullopt;
  // Reads `count` bytes at `offset`, or nothing past the end of the file.
  auto readAt = [&](uint64_t offset, uint64_t count) -> std::optional<std::vector<char>> {
    if (offset > size || count > size - offset)
      return std::nullopt;
    std::vector<char> bytes(count);
    file.clear();
    if (!file.seekg(std::streamoff(offset)) || !file.read(bytes.data(), std::streamsize(count)))
      return std::nullopt;
    return bytes;
  };
  std::vector<Elf64_Shdr> sections(header.e_shnum);
  std::optional<std::vector<char>> table = readAt(header.e_shoff, sections.size() * sizeof(Elf64_Shdr));
  if (!table)
    return std::nullopt;
  std::memcpy(sections.data(), table->data(), table->size());
  for (const Elf64_Shdr &symbols : sections) {
    if (symbols.sh_type != SHT_DYNSYM || symbols.sh_link >= sections.size())
      continue;
    std::optional<std::vector<char>> names =
        readAt(sections[symbols.sh_link].sh_offset, sections[symbols.sh_link].sh_size);
    std::optional<std::vector<char>> entries = readAt(symbols.sh_offset, symbols.sh_size);
    if (!names || !entries)
      return std::nullopt;
    for (size_t at = 0; at + sizeof(Elf64_Sym) <= entries->size(); at += sizeof(Elf64_Sym)) {
      Elf64_Sym symbol;
      std::memcpy(&symbol, entries->data() + at, sizeof symbol);
      // The name and its NUL, all inside the string table.
      if (symbol.st_name >= names->size() || names->size() - symbol.st_name <= name.size() ||
          std::memcmp(names->data() + symbol.st_name, name.c_str(), name.size() + 1) != 0 ||
          symbol.st_shndx == SHN_UNDEF || symbol.st_shndx >= sections.size())
        continue;
      // The symbol's bytes: its section's file offset plus its place in it.
      const Elf64_Shdr &home = sections[symbol.st_shndx];
      if (home.sh_type == SHT_NOBITS || symbol.st_value < home.sh_addr || symbol.st_size > 4096)
        return std::nullopt;
      std::optional<std::vector<char>> bytes =
          readAt(home.sh_offset + (symbol.st_value - home.sh_addr), symbol.st_size);
      if (!bytes)
        return std::nullopt;
      return std::string(bytes->data(), strnlen(bytes->data(), bytes->size()));
    }
  }
  return std::nullopt;
}

SharedLibrary::SharedLibrary(const std::string &path) : path_(path) {
  checkElfComplete(path);
  checkArtifactSeal(path);
  dlerror(); // clear any stale error
  // A name without '/' would make dlopen search the library paths instead
  // of the working directory.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  handle_ = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_)
    throw Error(path + ": cannot load compiled artifact: " + lastDlError());
}

SharedLibrary::~SharedLibrary() { dlclose(handle_); }

void *SharedLibrary::symbol(const std::string &name) const {
  dlerror();
  void *address = dlsym(handle_, name.c_str());
  if (!address)
    throw Error(path_ + ": artifact lacks symbol '" + name + "': " + lastDlError());
  return address;
}

} // namespace ember::rt
