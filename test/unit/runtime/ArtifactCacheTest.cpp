#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/AtomicFile.h"
#include "ember/model/Error.h"
#include "ember/runtime/Hash.h"
#include "ember/runtime/Process.h"
#include "ember/model/Parsing.h"

#include "TestSupport.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace ember::rt {
namespace {

namespace fs = std::filesystem;

ModelConfig tiny() { return ModelConfig::load(std::string(EMBER_PRESETS_DIR) + "/tiny.json"); }

ArtifactKeyInputs baseInputs() { return {configCacheText(tiny()), DType::BF16, "cpu", "model name : X", "100:5"}; }

// A stand-in compiler: logs its arguments and writes "artifact" to the -o path,
// or fails with `exitStatus`.
std::string writeFakeCompiler(const test::TempDir &dir, int exitStatus) {
  std::string path = dir.file("ember-compile");
  test::writeBytes(path, "#!/bin/sh\n"
                         "echo \"$@\" >> \"$(dirname \"$0\")/compile.log\"\n"
                         "out=\"\"\n"
                         "while [ $# -gt 0 ]; do [ \"$1\" = -o ] && out=\"$2\"; shift; done\n"
                         "[ " + std::to_string(exitStatus) + " -eq 0 ] || exit " + std::to_string(exitStatus) + "\n"
                         "echo artifact > \"$out\"\n");
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

TEST(ArtifactCacheKey, StableAndHex) {
  std::string key = artifactCacheKey(baseInputs());
  EXPECT_EQ(key, artifactCacheKey(baseInputs()));
  EXPECT_EQ(key.size(), 16u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
}

TEST(ArtifactCacheKey, SensitiveToEveryInput) {
  std::string key = artifactCacheKey(baseInputs());
  std::vector<ArtifactKeyInputs> variants(5, baseInputs());
  variants[0].configText = configCacheText(tiny()) + "x";
  variants[1].dtype = DType::F32;
  variants[2].target = "cuda";
  variants[3].cpuModel = "model name : Y";
  variants[4].compilerStamp = "100:6";
  for (const ArtifactKeyInputs &variant : variants)
    EXPECT_NE(artifactCacheKey(variant), key);
}

TEST(ArtifactCache, KeyCoversEveryConfigField) {
  test::TempDir dir;
  ArtifactCache cache(dir.file("cache"), writeFakeCompiler(dir, 0));
  ModelConfig config = tiny();
  std::string key = cache.key(config, DType::BF16);
  EXPECT_EQ(cache.key(ModelConfig::fromJson(config.raw, "elsewhere"), DType::BF16), key); // the path is not part
  std::vector<std::function<void(nlohmann::json &)>> edits = {
      [](nlohmann::json &c) { c["num_layers"] = 3; },
      [](nlohmann::json &c) { c["kv_lora_rank"] = 16; },
      [](nlohmann::json &c) { c["moe_topk"] = 2; },
      [](nlohmann::json &c) { c["rope_theta"] = 10000.0; },
      [](nlohmann::json &c) { c["tie_word_embeddings"] = true; },
      [](nlohmann::json &c) { c["max_position_embeddings"] = 8192; },
      [](nlohmann::json &c) { c["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 1024}}; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    nlohmann::json changed = config.raw;
    edits[i](changed);
    EXPECT_NE(cache.key(ModelConfig::fromJson(changed, "changed"), DType::BF16), key) << "edit " << i;
  }
}

TEST(ArtifactCache, CompilesOnMissThenHits) {
  test::TempDir dir;
  ArtifactCache cache(dir.file("cache"), writeFakeCompiler(dir, 0));
  ModelConfig config = tiny();
  EXPECT_FALSE(cache.isCached(config, DType::F16));
  ArtifactCache::Artifact first = cache.getOrCompile(config, "/models/tiny/config.json", DType::F16);
  EXPECT_FALSE(first.cacheHit);
  EXPECT_EQ(first.path, dir.file("cache") + "/" + cache.key(config, DType::F16) + ".so");
  EXPECT_EQ(readFile(first.path), "artifact\n");
  std::string log = readFile(dir.file("compile.log"));
  EXPECT_NE(log.find("--config /models/tiny/config.json --weight-dtype f16 --target cpu -o " + first.path + ".tmp."),
            std::string::npos)
      << log;
  // The cache's caller reports the compile; the compiler prints no summary of its own.
  EXPECT_NE(log.find(" --quiet\n"), std::string::npos) << log;

  ArtifactCache::Artifact second = cache.getOrCompile(config, "/models/tiny/config.json", DType::F16);
  EXPECT_TRUE(second.cacheHit);
  EXPECT_EQ(second.path, first.path);
  EXPECT_EQ(readFile(dir.file("compile.log")), log); // not compiled again
  EXPECT_NE(cache.key(config, DType::BF16), cache.key(config, DType::F16));
}

// Misses of one key in two places at once compile it once: the second
// waits on the cache lock, then finds the artifact.
TEST(ArtifactCache, ConcurrentMissesOfOneKeyCompileOnce) {
  test::TempDir dir;
  std::string compiler = writeFakeCompiler(dir, 0);
  std::string slow = dir.file("slow-compile");
  test::writeBytes(slow, "#!/bin/sh\nsleep 0.3\nexec \"" + compiler + "\" \"$@\"\n");
  fs::permissions(slow, fs::perms::owner_all);
  ModelConfig config = tiny();
  std::vector<ArtifactCache::Artifact> artifacts(2);
  std::vector<std::thread> misses;
  for (ArtifactCache::Artifact &artifact : artifacts)
    misses.emplace_back(
        [&] { artifact = ArtifactCache(dir.file("cache"), slow).getOrCompile(config, "c.json", DType::F32); });
  for (std::thread &miss : misses)
    miss.join();
  std::string log = readFile(dir.file("compile.log"));
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  EXPECT_NE(artifacts[0].cacheHit, artifacts[1].cacheHit);
  EXPECT_EQ(readFile(artifacts[0].path), "artifact\n");
}

// Temporaries of processes that are gone are removed; those of live ones
// (a compile in progress) and other files stay.
TEST(ArtifactCache, SweepsTheTemporariesOfDeadProcesses) {
  test::TempDir dir;
  pid_t dead = ::fork();
  if (dead == 0)
    std::_Exit(0);
  ::waitpid(dead, nullptr, 0);
  std::string live = std::to_string(::getpid()), gone = std::to_string(dead);
  std::vector<std::string> kept{"k.so", "k.so.lock", "k.so.tmp." + live, "k.so.tmp." + gone + ".o.tmp." + live,
                                "notes.tmp.txt"};
  std::vector<std::string> swept{"k.so.tmp." + gone, "k.so.tmp." + live + ".o.tmp." + gone};
  for (const std::string &name : kept)
    test::writeBytes(dir.file(name), "");
  for (const std::string &name : swept)
    test::writeBytes(dir.file(name), "");
  sweepStaleTemporaries(dir.path());
  for (const std::string &name : kept)
    EXPECT_TRUE(fs::exists(dir.file(name))) << name;
  for (const std::string &name : swept)
    EXPECT_FALSE(fs::exists(dir.file(name))) << name;
}

// A child knows its parent's pid; an ember tool whose parent is not the one
// named exits at once (exitWithParent), as when the parent died first.
TEST(ArtifactCache, ChildrenLearnTheirParentsPid) {
  std::string output;
  int status = runProcess({"/bin/sh", "-c", "printf %s \"$EMBER_PARENT_PID\""}, ChildOutput::Capture, &output);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(output, std::to_string(::getpid()));
}

TEST(ArtifactCache, TargetAndFlagsReachCompilerAndKey) {
  test::TempDir dir;
  std::string compiler = writeFakeCompiler(dir, 0);
  ArtifactCache cpu(dir.file("cache"), compiler);
  ArtifactCache sm90(dir.file("cache"), compiler, "nvptx", {"--chip", "sm_90"});
  ArtifactCache sm80(dir.file("cache"), compiler, "nvptx", {"--chip", "sm_80"});
  ModelConfig config = tiny();
  EXPECT_NE(sm90.key(config, DType::BF16), cpu.key(config, DType::BF16));
  EXPECT_NE(sm90.key(config, DType::BF16), sm80.key(config, DType::BF16));
  ArtifactCache::Artifact artifact = sm90.getOrCompile(config, "cfg.json", DType::BF16);
  EXPECT_NE(readFile(dir.file("compile.log")).find("--target nvptx --chip sm_90 -o " + artifact.path + ".tmp."),
            std::string::npos);
  EXPECT_FALSE(cpu.isCached(config, DType::BF16));
}

TEST(ArtifactCache, CompilerFailureReportsStatusAndCommand) {
  test::TempDir dir;
  std::string compiler = writeFakeCompiler(dir, 3);
  ArtifactCache cache(dir.file("cache"), compiler);
  EXPECT_ERROR_CONTAINS(cache.getOrCompile(tiny(), "cfg.json", DType::BF16), "exit status 3",
                        compiler + " --config cfg.json --weight-dtype bf16 --target cpu -o ");
  // No partial artifact: only the key's lock file (kept, so that waiters
  // and later compiles lock the same file).
  std::vector<std::string> left;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir.file("cache")))
    left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{cache.key(tiny(), DType::BF16) + ".so.lock"});
}

TEST(ArtifactCache, MissingCompiler) {
  test::TempDir dir;
  ArtifactCache cache(dir.file("cache"), dir.file("ember-compile"));
  EXPECT_ERROR_CONTAINS(cache.getOrCompile(tiny(), "cfg.json", DType::BF16), dir.file("ember-compile"),
                        "compiler not found");
}

// Sets an environment variable for a scope.
class ScopedEnvironment {
public:
  ScopedEnvironment(const char *name, const std::string &value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnvironment() { unsetenv(name_); }

private:
  const char *name_;
};

// What scripts/gpu-bundle relies on: recorded artifacts serve where no
// compiler exists, under a key without the compiler and the host CPU.
TEST(ArtifactCache, PrebuiltArtifactsAreRecordedThenUsedWithoutACompiler) {
  test::TempDir dir;
  ModelConfig config = tiny();
  ScopedEnvironment prebuiltDir("EMBER_PREBUILT_DIR", dir.file("prebuilt"));
  std::string prebuiltPath;
  {
    ScopedEnvironment record("EMBER_PREBUILT_RECORD", "1");
    ArtifactCache recording(dir.file("cache"), writeFakeCompiler(dir, 0), "nvptx", {"--chip", "sm_90"});
    ArtifactCache::Artifact compiled = recording.getOrCompile(config, "cfg.json", DType::BF16);
    EXPECT_FALSE(compiled.cacheHit);
    prebuiltPath = dir.file("prebuilt") + "/" + recording.prebuiltKey(config, DType::BF16) + ".so";
    EXPECT_EQ(readFile(prebuiltPath), "artifact\n");
  }
  ArtifactCache elsewhere(dir.file("other-cache"), dir.file("no-compiler-here"), "nvptx", {"--chip", "sm_90"});
  EXPECT_TRUE(elsewhere.isCached(config, DType::BF16));
  ArtifactCache::Artifact used = elsewhere.getOrCompile(config, "cfg.json", DType::BF16);
  EXPECT_TRUE(used.cacheHit);
  EXPECT_EQ(used.path, prebuiltPath);
  // Another target or dtype is not in the directory: it compiles, here without a compiler.
  ArtifactCache sm80(dir.file("other-cache"), dir.file("no-compiler-here"), "nvptx", {"--chip", "sm_80"});
  EXPECT_ERROR_CONTAINS(sm80.getOrCompile(config, "cfg.json", DType::BF16), "compiler not found");
  EXPECT_ERROR_CONTAINS(elsewhere.getOrCompile(config, "cfg.json", DType::F32), "compiler not found");
}

TEST(ArtifactCache, CacheDirectoryPrecedence) {
  auto withEnvironment = [](const char *emberDir, const char *xdg, const char *home) {
    auto set = [](const char *name, const char *value) {
      if (value)
        setenv(name, value, 1);
      else
        unsetenv(name);
    };
    set("EMBER_CACHE_DIR", emberDir);
    set("XDG_CACHE_HOME", xdg);
    set("HOME", home);
  };
  std::string savedHome = getenv("HOME") ? getenv("HOME") : "";
  withEnvironment("/e", "/x", "/h");
  EXPECT_EQ(resolveCacheDir("/cli"), "/cli");
  EXPECT_EQ(resolveCacheDir(""), "/e");
  withEnvironment(nullptr, "/x", "/h");
  EXPECT_EQ(resolveCacheDir(""), "/x/ember");
  withEnvironment(nullptr, nullptr, "/h");
  EXPECT_EQ(resolveCacheDir(""), "/h/.cache/ember");
  withEnvironment(nullptr, nullptr, nullptr);
  EXPECT_ERROR_CONTAINS(resolveCacheDir(""), "--cache-dir");
  withEnvironment(nullptr, nullptr, savedHome.c_str());
}

TEST(ArtifactCache, HostFacts) {
  EXPECT_FALSE(hostCpuModel().empty());
  EXPECT_EQ(fs::path(defaultCompilerPath()).filename(), "ember-compile");
}

} // namespace
} // namespace ember::rt
