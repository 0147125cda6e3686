#pragma once

#include <string>

namespace ember::rt {

// A compiled artifact (shared library), dlopen'ed with RTLD_NOW | RTLD_LOCAL.
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

private:
  std::string path_;
  void *handle_ = nullptr;
};

} // namespace ember::rt
