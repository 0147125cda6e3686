#include "ember/runtime/AtomicFile.h"

#include "ember/model/Error.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <filesystem>
#include <sstream>
#include <sys/stat.h>
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
  struct stat target;
  if (::stat(path_.c_str(), &target) == 0 && !S_ISREG(target.st_mode))
    throw Error(path_ + ": is not a regular file (a folder, device or other special file); not replacing it");
  if (std::rename(tempPath_.c_str(), path_.c_str()) != 0)
    throw Error(path_ + ": cannot rename " + tempPath_ + " into place: " + systemError());
  committed_ = true;
}

void checkOutputPath(const std::string &path, const std::string &what, bool force) {
  namespace fs = std::filesystem;
  std::string where = what + " " + path;
  if (path.empty())
    throw Error(what + ": the path is empty");
  struct stat target;
  if (::stat(path.c_str(), &target) == 0) {
    if (S_ISDIR(target.st_mode))
      throw Error(where + ": is a folder; give a file name");
    if (!S_ISREG(target.st_mode))
      throw Error(where + ": is not a regular file (a device or other special file); ember writes only regular files");
    // The mode, not access(2): root may write anything.
    if (!force && (target.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0)
      throw Error(where + ": is read-only; add --force to replace it");
  }
  fs::path folder = fs::path(path).parent_path();
  if (folder.empty())
    folder = ".";
  std::error_code error;
  if (!fs::is_directory(folder, error))
    throw Error(where + ": folder " + folder.string() + " does not exist");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw Error(where + ": cannot write in folder " + folder.string() + ": " + systemError());
}

void writeFileAtomically(const std::string &path, const std::string &contents) {
  AtomicOutputFile file(path);
  file.write(contents.data(), contents.size());
  file.commit();
}

} // namespace ember::rt
