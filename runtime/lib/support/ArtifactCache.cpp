#include "ember/runtime/ArtifactCache.h"

#include "ember/model/Error.h"
#include "ember/runtime/Process.h"
#include "ember/runtime/Hash.h"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ember::rt {

namespace fs = std::filesystem;

std::string configCacheText(const ModelConfig &config) { return config.raw.dump(); }

std::string artifactCacheKey(const ArtifactKeyInputs &inputs) {
  // '\n' cannot occur inside the fields (dump() escapes it), so the joined text is unambiguous.
  std::string text = inputs.configText + '\n' + dtypeName(inputs.dtype) + '\n' + inputs.target + '\n' +
                     inputs.cpuModel + '\n' + inputs.compilerStamp;
  return fnv1a64Hex(text);
}

std::string hostCpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0)
      return line;
  return "unknown";
}

std::string compilerStamp(const std::string &compilerPath) {
  struct stat info;
  if (::stat(compilerPath.c_str(), &info) != 0)
    throw Error(compilerPath + ": compiler not found (" + std::strerror(errno) +
                "); ember-compile must sit next to this tool");
  long long mtimeNs = (long long)info.st_mtim.tv_sec * 1000000000LL + info.st_mtim.tv_nsec;
  return std::to_string((long long)info.st_size) + ":" + std::to_string(mtimeNs);
}

static std::string environmentValue(const char *name) {
  const char *value = std::getenv(name);
  return value ? value : "";
}

std::string resolveCacheDir(const std::string &cliCacheDir) {
  if (!cliCacheDir.empty())
    return cliCacheDir;
  if (std::string dir = environmentValue("EMBER_CACHE_DIR"); !dir.empty())
    return dir;
  if (std::string xdg = environmentValue("XDG_CACHE_HOME"); !xdg.empty())
    return xdg + "/ember";
  if (std::string home = environmentValue("HOME"); !home.empty())
    return home + "/.cache/ember";
  throw Error("cannot choose a cache directory: pass --cache-dir or set EMBER_CACHE_DIR, XDG_CACHE_HOME or HOME");
}

std::string defaultCompilerPath() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw Error("cannot resolve /proc/self/exe: " + ec.message());
  return (self.parent_path() / "ember-compile").string();
}

ArtifactCache::ArtifactCache(std::string dir, std::string compilerPath, std::string target,
                             std::vector<std::string> targetFlags)
    : dir_(std::move(dir)), compilerPath_(std::move(compilerPath)), target_(std::move(target)),
      targetFlags_(std::move(targetFlags)), prebuiltDir_(environmentValue("EMBER_PREBUILT_DIR")),
      recordPrebuilt_(environmentValue("EMBER_PREBUILT_RECORD") == "1") {}

static std::string targetText(const std::string &target, const std::vector<std::string> &flags) {
  std::string text = target;
  for (const std::string &flag : flags)
    text += " " + flag;
  return text;
}

std::string ArtifactCache::key(const ModelConfig &config, DType dtype) const {
  return artifactCacheKey({configCacheText(config), dtype, targetText(target_, targetFlags_), hostCpuModel(),
                           compilerStamp(compilerPath_)});
}

std::string ArtifactCache::prebuiltKey(const ModelConfig &config, DType dtype) const {
  return artifactCacheKey({configCacheText(config), dtype, targetText(target_, targetFlags_), "any", "prebuilt"});
}

// Copies `path` into the prebuilt directory under `key`, atomically.
static void recordPrebuiltArtifact(const std::string &path, const std::string &dir, const std::string &key) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string target = (fs::path(dir) / (key + ".so")).string(), temp = target + ".tmp." + std::to_string(::getpid());
  if (!ec)
    fs::copy_file(path, temp, fs::copy_options::overwrite_existing, ec);
  if (!ec)
    fs::rename(temp, target, ec);
  if (ec) {
    fs::remove(temp);
    throw Error(dir + ": cannot record the prebuilt artifact " + key + ".so (EMBER_PREBUILT_RECORD): " + ec.message());
  }
}

std::string ArtifactCache::artifactPath(const ModelConfig &config, DType dtype) const {
  return (fs::path(dir_) / (key(config, dtype) + ".so")).string();
}

std::optional<std::string> ArtifactCache::prebuiltArtifact(const ModelConfig &config, DType dtype) const {
  if (prebuiltDir_.empty())
    return std::nullopt;
  fs::path prebuilt = fs::path(prebuiltDir_) / (prebuiltKey(config, dtype) + ".so");
  if (!fs::exists(prebuilt))
    return std::nullopt;
  return prebuilt.string();
}

bool ArtifactCache::isCached(const ModelConfig &config, DType dtype) const {
  return prebuiltArtifact(config, dtype) || fs::exists(artifactPath(config, dtype));
}

std::vector<std::string> ArtifactCache::compileCommand(const std::string &configPath, DType dtype,
                                                       const std::string &outputPath) const {
  std::vector<std::string> command{compilerPath_,         "--config", configPath, "--weight-dtype",
                                   dtypeLowerName(dtype), "--target", target_};
  command.insert(command.end(), targetFlags_.begin(), targetFlags_.end());
  // --quiet: the caller reports the compile ("compiling ... done in").
  command.insert(command.end(), {"-o", outputPath, "--quiet"});
  return command;
}

ArtifactCache::Artifact ArtifactCache::getOrCompile(const ModelConfig &config, const std::string &configPath,
                                                    DType dtype) const {
  if (std::optional<std::string> prebuilt = prebuiltArtifact(config, dtype))
    return {*prebuilt, true, 0.0};
  Artifact artifact = compileUnlessCached(config, configPath, dtype);
  if (recordPrebuilt_ && !prebuiltDir_.empty())
    recordPrebuiltArtifact(artifact.path, prebuiltDir_, prebuiltKey(config, dtype));
  return artifact;
}

namespace {

// An exclusive flock(2) on `path` (created if missing) for the object's life;
// the kernel drops it when the process dies.
class CacheLock {
public:
  explicit CacheLock(const std::string &path) : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (fd_ < 0)
      throw Error(path + ": cannot open the cache lock: " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR)
        throw Error(path + ": cannot lock: " + std::strerror(errno));
  }
  ~CacheLock() { ::close(fd_); }
  CacheLock(const CacheLock &) = delete;
  CacheLock &operator=(const CacheLock &) = delete;

private:
  int fd_;
};

} // namespace

// The pid is at the end of a temporary's name ("<key>.so.tmp.<pid>", and
// ember-compile's "<...>.o.tmp.<pid>").
bool temporaryOwnerIsGone(const std::string &name) {
  size_t mark = name.rfind(".tmp.");
  if (mark == std::string::npos)
    return false;
  std::string digits = name.substr(mark + 5);
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  pid_t owner = pid_t(std::stol(digits));
  // kill(pid, 0) fails with ESRCH only when no such process exists.
  return owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH;
}

void sweepStaleTemporaries(const std::string &dir, const std::string &prefix) {
  std::error_code ec;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && temporaryOwnerIsGone(name))
      fs::remove(entry.path(), ec);
  }
}

ArtifactCache::Artifact ArtifactCache::compileUnlessCached(const ModelConfig &config, const std::string &configPath,
                                                           DType dtype) const {
  std::string finalPath = artifactPath(config, dtype);
  if (fs::exists(finalPath))
    return {finalPath, true, 0.0};

  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw Error(dir_ + ": cannot create cache directory: " + ec.message());
  // One compile per key across processes: the others wait here, then find
  // the artifact.
  CacheLock lock(finalPath + ".lock");
  if (fs::exists(finalPath))
    return {finalPath, true, 0.0};
  sweepStaleTemporaries(dir_);
  std::string tempPath = finalPath + ".tmp." + std::to_string(::getpid());
  std::vector<std::string> command = compileCommand(configPath, dtype, tempPath);
  auto start = std::chrono::steady_clock::now();
  int status = runProcess(command);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fs::remove(tempPath, ec);
    throw Error("compiling the model failed (" + describeWaitStatus(status) + "): " + formatCommand(command));
  }
  if (!fs::exists(tempPath))
    throw Error("the compiler succeeded but wrote no artifact at " + tempPath + ": " + formatCommand(command));
  // rename() is atomic: concurrent compilations of one key both end in a complete file.
  fs::rename(tempPath, finalPath, ec);
  if (ec)
    throw Error(finalPath + ": cannot move compiled artifact into place: " + ec.message());
  return {finalPath, false, seconds};
}

} // namespace ember::rt
