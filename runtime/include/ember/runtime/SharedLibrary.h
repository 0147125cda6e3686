#pragma once

#include <string>

namespace ember::rt {

// ember-compile seals every artifact it writes by appending 24 bytes:
// "EMBERSUM", then the FNV-1a 64 of every byte before them and their count
// (both little endian). The ELF loader ignores bytes past the segments.
void sealArtifact(const std::string &path);

// A compiled artifact (shared library), dlopen'ed with RTLD_NOW | RTLD_LOCAL.
// Before dlopen, a file that is sealed must match its seal, and an ELF file
// must hold everything its headers point at: a damaged artifact is refused
// with an error instead of crashing the process.
class SharedLibrary {
public:
  explicit SharedLibrary(const std::string &path);
  ~SharedLibrary();
  SharedLibrary(const SharedLibrary &) = delete;
  SharedLibrary &operator=(const SharedLibrary &) = delete;

  // Throws "<path>: artifact lacks symbol '<name>': <dlerror>".
  void *symbol(const std::string &name) const;
  // nullptr when the library does not define `name`.
  void *findSymbol(const std::string &name) const;
  const std::string &path() const { return path_; }
  // The file ends in a seal that matched (checkModelStamp requires it of
  // every artifact but test doubles).
  bool sealed() const { return sealed_; }

private:
  std::string path_;
  void *handle_ = nullptr;
  bool sealed_ = false;
};

} // namespace ember::rt
