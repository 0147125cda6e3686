#include "ember/runtime/AtomicFile.h"

#include "ember/runtime/Error.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace ember::rt {

static std::string systemError() { return std::strerror(errno); }

AtomicOutputFile::AtomicOutputFile(std::string path)
    : path_(std::move(path)), tempPath_(path_ + ".tmp." + std::to_string(::getpid())) {
  file_ = std::fopen(tempPath_.c_str(), "wb");
  if (!file_)
    throw Error(tempPath_ + ": cannot create file: " + systemError());
}

AtomicOutputFile::~AtomicOutputFile() {
  if (file_)
    std::fclose(file_);
  if (!committed_)
    std::remove(tempPath_.c_str());
}

void AtomicOutputFile::write(const void *data, size_t size) {
  if (!file_)
    throw Error(tempPath_ + ": write after close");
  if (size && std::fwrite(data, 1, size, file_) != size)
    throw Error(tempPath_ + ": write failed: " + systemError());
}

void AtomicOutputFile::close() {
  if (!file_)
    return;
  bool flushed = std::fflush(file_) == 0;
  bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed)
    throw Error(tempPath_ + ": write failed: " + systemError());
}

void AtomicOutputFile::commit() {
  close();
  if (std::rename(tempPath_.c_str(), path_.c_str()) != 0)
    throw Error(path_ + ": cannot rename " + tempPath_ + " into place: " + systemError());
  committed_ = true;
}

void writeFileAtomically(const std::string &path, const std::string &contents) {
  AtomicOutputFile file(path);
  file.write(contents.data(), contents.size());
  file.commit();
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path + ": cannot open file: " + systemError());
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad())
    throw Error(path + ": read failed");
  return contents.str();
}

} // namespace ember::rt
