// ember-synth: writes a deterministic random LongCat-Flash-Lite checkpoint
// (config.json + safetensors with the official tensor names) for a preset.

#include "ModelTensors.h"
#include "NormalGenerator.h"
#include "SynthTokenizer.h"

#include "ember/model/Config.h"
#include "ember/model/Error.h"
#include "ember/model/Parsing.h"
#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/AtomicFile.h"
#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Hash.h"
#include "ember/runtime/SafetensorsWriter.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <regex>
#include <set>
#include <sys/statvfs.h>

namespace fs = std::filesystem;
using namespace ember;

namespace {

// Bytes an unprivileged writer may still use on the file system that holds
// `path` (or its nearest existing ancestor, `path` itself may not exist yet).
uint64_t availableBytes(fs::path path) {
  std::error_code error;
  path = fs::absolute(path, error);
  while (!fs::exists(path, error) && path.has_parent_path() && path != path.parent_path())
    path = path.parent_path();
  struct statvfs stats;
  if (::statvfs(path.c_str(), &stats) != 0)
    return std::numeric_limits<uint64_t>::max(); // unknown: the writes will tell
  return uint64_t(stats.f_bavail) * stats.f_frsize;
}

constexpr char kUsage[] = R"(usage: ember-synth --preset <name|file.json> --seed S -o DIR [options]

Writes DIR/config.json (the preset; with --dtype f8e4m3 plus its
quantization_config), a deterministic random
checkpoint of the whole model with the official tensor names (embeddings,
n-gram tables and projections, every layer, final norm, lm_head, MTP block)
DIR/tokenizer.json, a byte-level BPE tokenizer for the vocabulary (BOS and
EOS at the config's ids, merges learned from a built-in English text), and
DIR/tokenizer_config.json with ember's own chat template (numbered
"[Round N] USER:... ASSISTANT:..." turns, for ember-run --chat).
Values depend only on (seed, tensor name). Files are written as temporaries
and renamed into place at the end; older model*.safetensors files and index
in DIR that this run did not write are removed. Before any byte is written,
every file it will write is checked: not a folder or special file, not
read-only (without --force); temporaries a killed run left in DIR are
removed.

options:
  --preset <name|file.json>  preset name (looked up as <presets-dir>/<name>.json)
                             or a path to a config.json-style file (required)
  --seed S                   non-negative integer seed (required)
  -o DIR                     output directory, created if missing (required)
  --dtype f32|bf16|f16|f8e4m3
                             weight dtype (default bf16; the router's
                             e_score_correction_bias is always F32). f8e4m3
                             writes the FP8 release format: the attention
                             projections and the dense and expert MLPs in
                             F8_E4M3, each with F32 block scales
                             (<name>_scale_inv, amax / 448 per block), the
                             rest in bf16, and quantization_config in
                             config.json
  --fp8-block-size R,C       with f8e4m3: rows and columns of a scale block
                             (default 128,128, as the release)
  --shards N                 N = 1 (default) writes model.safetensors; N > 1 writes
                             model-0000k-of-0000N.safetensors + model.safetensors.index.json
  --presets-dir D            where preset names are looked up
                             (default )" EMBER_PRESETS_DIR R"()
  --force                    replace read-only files in DIR
  --help                     print this help
)";

std::string shardFileName(int shard, int shards) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", shard + 1, shards);
  return name;
}

// Progress on stderr once a run takes longer than a second.
class Progress {
public:
  explicit Progress(uint64_t totalBytes) : total_(totalBytes) {}

  void advance(uint64_t bytes) {
    done_ += bytes;
    double elapsed = secondsSince(start_);
    if (elapsed > 1.0 && secondsSince(lastPrint_) > 0.25) {
      print(elapsed);
      lastPrint_ = Clock::now();
    }
  }
  void finish() {
    if (printed_) {
      print(secondsSince(start_));
      std::cerr << "\n";
    }
  }

private:
  using Clock = std::chrono::steady_clock;
  static double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
  void print(double elapsed) {
    std::fprintf(stderr, "\rember-synth: %.1f / %.1f MB (%.0f MB/s)", done_ / 1e6, total_ / 1e6,
                 done_ / 1e6 / elapsed);
    printed_ = true;
  }

  uint64_t total_, done_ = 0;
  Clock::time_point start_ = Clock::now(), lastPrint_ = start_;
  bool printed_ = false;
};

// The values of an FP8 tensor's weight, one band of blockRows rows at a
// time, quantized as DeepSeek's FP8 release is: per block, the scale is
// amax / 448 (the largest E4M3 value; 1 for an all-zero block) and the
// values are divided by it. Calls band(values, scales) with the divided
// values [rows, in] and the band's scales [ceil(in / blockCols)].
template <typename Band>
void forEachQuantizedBand(const synth::SynthTensor &tensor, const ember::Fp8BlockQuantization &block,
                          synth::NormalGenerator &normal, Band band) {
  int64_t rows = tensor.fp8->shape[0], cols = tensor.fp8->shape[1];
  int64_t scaleCols = (cols + block.blockCols - 1) / block.blockCols;
  std::vector<float> values, scales(size_t(scaleCols), 0.0f);
  for (int64_t begin = 0; begin < rows; begin += block.blockRows) {
    int64_t n = std::min(block.blockRows, rows - begin);
    values.resize(size_t(n * cols));
    std::fill(scales.begin(), scales.end(), 0.0f);
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = float(tensor.mean + tensor.stddev * normal.next());
      float &amax = scales[i % size_t(cols) / size_t(block.blockCols)];
      amax = std::max(amax, std::fabs(values[i]));
    }
    for (float &scale : scales)
      scale = scale > 0.0f ? scale / 448.0f : 1.0f;
    for (size_t i = 0; i < values.size(); ++i)
      values[i] /= scales[i % size_t(cols) / size_t(block.blockCols)];
    band(values, scales);
  }
}

// Streams one tensor's values in chunks (the n-gram tables can be GBs).
// Values depend only on (seed, the name of the weight they are drawn from).
void writeTensorValues(const synth::SynthTensor &tensor, const ember::ModelConfig &config, uint64_t seed,
                       rt::SafetensorsWriter &writer, Progress &progress) {
  constexpr size_t kChunk = size_t(1) << 20;
  const std::string &source = tensor.fp8 ? tensor.fp8->weight : tensor.spec.name;
  synth::NormalGenerator normal(rt::fnv1a64(source) ^ (seed * 0x9e3779b97f4a7c15ull));
  std::vector<std::byte> bytes;
  auto write = [&](const std::vector<float> &values) {
    bytes.resize(values.size() * ember::dtypeSize(tensor.spec.dtype));
    ember::convertFromFloat(values.data(), values.size(), tensor.spec.dtype, bytes.data());
    writer.write(bytes.data(), bytes.size());
    progress.advance(bytes.size());
  };
  if (tensor.fp8) {
    forEachQuantizedBand(tensor, *config.fp8, normal,
                         [&](const std::vector<float> &values, const std::vector<float> &scales) {
                           write(tensor.fp8->scales ? scales : values);
                         });
    return;
  }
  size_t remaining = tensor.spec.nbytes() / ember::dtypeSize(tensor.spec.dtype);
  std::vector<float> values;
  while (remaining > 0) {
    values.resize(std::min(kChunk, remaining));
    for (float &value : values)
      value = float(tensor.mean + tensor.stddev * normal.next());
    write(values);
    remaining -= values.size();
  }
}

// Files from earlier runs that a checkpoint reader would otherwise also load.
void removeStaleCheckpointFiles(const fs::path &dir, const std::set<std::string> &written) {
  static const std::regex ours(R"(model(-\d{5}-of-\d{5})?\.safetensors|model\.safetensors\.index\.json)");
  for (const auto &item : fs::directory_iterator(dir)) {
    std::string name = item.path().filename().string();
    if (std::regex_match(name, ours) && !written.count(name))
      fs::remove(item.path());
  }
}

// "R,C": the rows and columns of an FP8 scale block, each in [1, 2^16].
std::vector<int64_t> parseBlockSize(const std::string &text) {
  size_t comma = text.find(',');
  std::optional<int64_t> rows = ember::parseWholeInteger(text.substr(0, comma));
  std::optional<int64_t> cols =
      comma == std::string::npos ? std::nullopt : ember::parseWholeInteger(text.substr(comma + 1));
  constexpr int64_t kLargest = int64_t(1) << 16;
  if (!rows || !cols || *rows < 1 || *cols < 1 || *rows > kLargest || *cols > kLargest)
    throw Error("--fp8-block-size must be R,C with each in [1, 65536], got '" + text + "'");
  return {*rows, *cols};
}

int synthMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--preset", "--seed", "-o", "--dtype", "--fp8-block-size", "--shards", "--presets-dir"},
                       {"--help", "--force"});
  if (args.has("--help")) {
    std::cout << kUsage;
    return 0;
  }
  std::string presetPath = ember::resolvePresetPath(args.required("--preset"), args.value("--presets-dir", EMBER_PRESETS_DIR));
  args.required("--seed");
  auto seed = uint64_t(args.integer("--seed", 0));
  fs::path outDir = args.required("-o");
  std::string dtypeText = args.value("--dtype", "bf16");
  bool fp8 = dtypeText == ember::dtypeLowerName(ember::DType::F8E4M3);
  if (args.has("--fp8-block-size") && !fp8)
    throw Error("--fp8-block-size needs --dtype f8e4m3");
  if (!fp8 && dtypeText != "f32" && dtypeText != "bf16" && dtypeText != "f16")
    throw Error("--dtype: unknown dtype '" + dtypeText + "' (expected f32, bf16, f16 or f8e4m3)");
  // FP8 checkpoints keep every unquantized tensor in bf16, as the release does.
  ember::DType dtype = fp8 ? ember::DType::BF16 : ember::parseDTypeLower(dtypeText);
  long long shardCount = args.integer("--shards", 1);
  if (shardCount < 1 || shardCount > 99999)
    throw Error("--shards must be between 1 and 99999, got " + std::to_string(shardCount));
  int shards = int(shardCount);

  ember::ModelConfig config = ember::ModelConfig::load(presetPath);
  std::string configText = ember::readFile(presetPath);
  config.fp8.reset(); // a preset's own quantization_config does not quantize unless asked
  if (fp8) {          // the preset plus its quantization_config, keys in their order
    nlohmann::ordered_json configJson = nlohmann::ordered_json::parse(configText);
    configJson["quantization_config"] = {
        {"activation_scheme", "dynamic"},
        {"fmt", "e4m3"},
        {"quant_method", "fp8"},
        {"weight_block_size", parseBlockSize(args.value("--fp8-block-size", "128,128"))}};
    configText = configJson.dump(2) + "\n";
    config = ember::ModelConfig::fromJson(nlohmann::json::parse(configText), presetPath);
  }
  std::vector<synth::SynthTensor> tensors = synth::modelTensors(config, dtype);
  uint64_t totalBytes = 0, params = 0;
  for (const synth::SynthTensor &tensor : tensors) {
    totalBytes += tensor.spec.nbytes();
    if (!(tensor.fp8 && tensor.fp8->scales))
      params += tensor.spec.nbytes() / ember::dtypeSize(tensor.spec.dtype);
  }

  // Checked before anything is created: a checkpoint the disk cannot hold
  // fails now, not after writing most of it.
  uint64_t freeBytes = availableBytes(outDir);
  if (totalBytes > freeBytes)
    throw Error(outDir.string() + ": the checkpoint needs " + std::to_string(totalBytes) + " bytes (" +
                std::to_string(params) + " parameters in " + ember::dtypeLowerName(dtype) + "), but its file system has " +
                std::to_string(freeBytes) + " bytes free");

  // Shards split the declaration order: a shard is closed once it holds its
  // share of the bytes (a group of n-gram tables or projections stays in
  // one shard), one after another, so a large tensor never leaves the next
  // shard empty; each later shard keeps at least one group, the last takes
  // the rest.
  std::vector<size_t> groupsFrom(tensors.size() + 1, 0); // groups starting at i or later
  for (size_t i = tensors.size(); i-- > 0;)
    groupsFrom[i] = groupsFrom[i + 1] + (tensors[i].keepWithPrevious ? 0 : 1);
  if (groupsFrom[0] < size_t(shards))
    throw Error("--shards " + std::to_string(shards) + " exceeds the " + std::to_string(groupsFrom[0]) +
                " tensors (or groups kept together) of the checkpoint");
  std::vector<std::vector<size_t>> members(static_cast<size_t>(shards));
  uint64_t inShard = 0, share = totalBytes / uint64_t(shards);
  size_t shard = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    bool full = inShard >= share || groupsFrom[i] <= size_t(shards) - 1 - shard;
    if (!tensors[i].keepWithPrevious && !members[shard].empty() && full && shard + 1 < size_t(shards)) {
      ++shard;
      inShard = 0;
    }
    members[shard].push_back(i);
    inShard += tensors[i].spec.nbytes();
  }

  std::vector<std::string> outputs = {"config.json", "tokenizer.json", "tokenizer_config.json"};
  for (int shard = 0; shard < shards; ++shard)
    outputs.push_back(shards == 1 ? "model.safetensors" : shardFileName(shard, shards));
  if (shards > 1)
    outputs.push_back("model.safetensors.index.json");
  if (fs::is_directory(outDir)) {
    for (const std::string &name : outputs)
      rt::checkOutputPath((outDir / name).string(), "-o", args.has("--force"));
    // What a killed run left: one pass over DIR per name prefix of the
    // outputs, not one per output (up to 99999 shards).
    for (const char *prefix : {"model", "config.json.", "tokenizer"})
      rt::sweepStaleTemporaries(outDir.string(), prefix);
  }

  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec)
    throw Error(outDir.string() + ": cannot create output directory: " + ec.message());

  Progress progress(totalBytes);
  std::vector<std::unique_ptr<rt::SafetensorsWriter>> writers;
  nlohmann::ordered_json weightMap = nlohmann::ordered_json::object();
  std::set<std::string> written = {"config.json"};
  for (int shard = 0; shard < shards; ++shard) {
    std::string fileName = shards == 1 ? "model.safetensors" : shardFileName(shard, shards);
    std::vector<rt::TensorSpec> specs;
    for (size_t i : members[size_t(shard)]) {
      specs.push_back(tensors[i].spec);
      weightMap[tensors[i].spec.name] = fileName;
    }
    writers.push_back(std::make_unique<rt::SafetensorsWriter>((outDir / fileName).string(), specs));
    for (size_t i : members[size_t(shard)])
      writeTensorValues(tensors[i], config, seed, *writers.back(), progress);
    writers.back()->finish();
    written.insert(fileName);
  }
  progress.finish();

  std::unique_ptr<rt::AtomicOutputFile> index;
  if (shards > 1) {
    nlohmann::ordered_json indexJson = {{"metadata", {{"total_size", totalBytes}}}, {"weight_map", weightMap}};
    std::string text = indexJson.dump(2) + "\n";
    index = std::make_unique<rt::AtomicOutputFile>((outDir / "model.safetensors.index.json").string());
    index->write(text.data(), text.size());
    written.insert("model.safetensors.index.json");
  }
  rt::AtomicOutputFile configFile((outDir / "config.json").string());
  configFile.write(configText.data(), configText.size());
  std::string tokenizerText = synth::synthTokenizer(config).dump(1) + "\n";
  rt::AtomicOutputFile tokenizerFile((outDir / "tokenizer.json").string());
  tokenizerFile.write(tokenizerText.data(), tokenizerText.size());
  written.insert("tokenizer.json");
  std::string tokenizerConfigText = synth::synthTokenizerConfig(config).dump(1) + "\n";
  rt::AtomicOutputFile tokenizerConfigFile((outDir / "tokenizer_config.json").string());
  tokenizerConfigFile.write(tokenizerConfigText.data(), tokenizerConfigText.size());

  for (auto &writer : writers)
    writer->commit();
  if (index)
    index->commit();
  configFile.commit();
  tokenizerFile.commit();
  tokenizerConfigFile.commit();
  removeStaleCheckpointFiles(outDir, written);

  std::printf("ember-synth: wrote %s: %zu tensors, %.2f MB, %llu params (%s, %d shard%s, seed %llu)\n",
              outDir.string().c_str(), tensors.size(), totalBytes / 1e6, (unsigned long long)params,
              fp8 ? "f8e4m3 block-scaled, the rest bf16" : ember::dtypeLowerName(dtype), shards, shards == 1 ? "" : "s",
              (unsigned long long)seed);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return rt::runTool("ember-synth", [&] { return synthMain(argc, argv); });
}
