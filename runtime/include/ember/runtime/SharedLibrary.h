#pragma once

#include <optional>
#include <string>

namespace ember::rt {

// ember-compile seals every artifact it writes by appending 24 bytes:
// "EMBERSUM", then the FNV-1a 64 of every byte before them and their count
// (both little endian). The ELF loader ignores bytes past the segments.
void sealArtifact(const std::string &path);
// Throws when `path` ends in a seal that does not match what precedes it;
// returns whether it is sealed.
bool checkArtifactSeal(const std::string &path);

// Throws when `path` is an ELF file whose headers reach past its end (a
// truncated artifact: dlopen maps it and the first access beyond the end
// raises SIGBUS).
void checkElfComplete(const std::string &path);
// Whether `path` starts with the ELF64 magic (anything else is left to
// dlopen's message).
bool isElf64File(const std::string &path);
// The NUL-terminated string an ELF64 shared library exports as `name`
// (a dynamic symbol), read from the file without loading it: nothing for a
// file that is not ELF64, lacks the symbol or whose tables point past it.
std::optional<std::string> readExportedString(const std::string &path, const std::string &name);

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
  const std::string &path() const { return path_; }

private:
  std::string path_;
  void *handle_ = nullptr;
};

} // namespace ember::rt
