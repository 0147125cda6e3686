#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace ember::rt {

// Writes `<path>.tmp.<pid>` and renames it to `<path>` only on commit(), so a
// failed or interrupted run never leaves a partial output file behind.
// commit() refuses to replace anything but a regular file (a device node
// such as /dev/full stays one).
class AtomicOutputFile {
public:
  explicit AtomicOutputFile(std::string path);
  ~AtomicOutputFile(); // removes the temporary file unless committed
  AtomicOutputFile(const AtomicOutputFile &) = delete;
  AtomicOutputFile &operator=(const AtomicOutputFile &) = delete;

  void write(const void *data, size_t size);
  // Flushes and closes the temporary file (throws on I/O errors).
  void close();
  // close() if still open, then rename into place.
  void commit();

  const std::string &path() const { return path_; }
  const std::string &tempPath() const { return tempPath_; }

private:
  std::string path_;
  std::string tempPath_;
  std::FILE *file_ = nullptr;
  bool committed_ = false;
};

// Throws unless `path` can take an output file, before any work is done
// for it: its folder exists and is a folder, and the path is not a folder,
// a device or another special file, nor (without `force`) a read-only file.
// `what` names the flag in messages ("--dump-logits").
void checkOutputPath(const std::string &path, const std::string &what, bool force = false);

// Whole-file convenience.
void writeFileAtomically(const std::string &path, const std::string &contents);

} // namespace ember::rt
