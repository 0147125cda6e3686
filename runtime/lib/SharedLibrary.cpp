#include "ember/runtime/SharedLibrary.h"

#include "ember/runtime/Error.h"

#include <dlfcn.h>

namespace ember::rt {

static std::string lastDlError() {
  const char *message = dlerror();
  return message ? message : "unknown dlopen error";
}

SharedLibrary::SharedLibrary(const std::string &path) : path_(path) {
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
