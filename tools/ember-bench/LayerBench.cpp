// ember-bench layer: one shortcut layer and the lm_head at any config's
// shapes, the full 68.5B config's included. The config's num_layers becomes
// 1 and its ember_forward (the layers, the final norm and the lm_head, on
// given embeddings) is compiled; its weights, the latent KV cache and the
// input rows are random values written into backend memory, so no
// checkpoint is read or written. Cases: decode of T rows after
// context - T cached positions (T = 1, 8, 64 by default), and a prefill of
// `context` rows at position 0.

#include "BenchSupport.h"

#include "ember/runtime/AtomicFile.h"
#include "ember/runtime/Decoder.h"
#include "ember/model/Error.h"
#include "ember/runtime/Hash.h"
#include "ember/runtime/KernelProfile.h"
#include "ember/model/ModelAbi.h"
#include "ember/model/Parsing.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

namespace fs = std::filesystem;

namespace ember::bench {

namespace {

struct LayerCase {
  std::string name; // "decode-T8", "prefill-T4096"
  int64_t tokens, start;
};

// "small" for presets/small.json, "longcat-flash-lite" for
// longcat-flash-lite/config.json.
std::string presetName(const std::string &presetPath) {
  fs::path path(presetPath);
  return path.stem() == "config" && path.has_parent_path() ? path.parent_path().filename().string()
                                                           : path.stem().string();
}

// The preset with num_layers = 1, written once as
// <cacheDir>/layer-configs/<presetName>-<hash of its text>.json for
// ember-compile.
std::string writeOneLayerConfig(const std::string &cacheDir, const ember::ModelConfig &preset, ember::ModelConfig &oneLayer) {
  nlohmann::json raw = preset.raw;
  raw["num_layers"] = 1;
  std::string text = raw.dump(2) + "\n";
  oneLayer = ember::ModelConfig::fromJson(raw, preset.path + " with num_layers 1");
  fs::path dir = fs::path(cacheDir) / "layer-configs";
  fs::create_directories(dir);
  fs::path path = dir / (presetName(preset.path) + "-" + rt::fnv1a64Hex(text) + ".json");
  if (!fs::exists(path))
    rt::writeFileAtomically(path.string(), text);
  oneLayer.path = path.string();
  return path.string();
}

// Backend memory of random values: copies of one host block of
// randomTensorBytes at shifting offsets, so rows differ and no tensor is
// ever whole in host memory.
class RandomFill {
public:
  RandomFill(ember::DType dtype, uint64_t seed) : block_(randomTensorBytes(kElements, dtype, seed)) {}

  rt::DeviceBuffer make(rt::Backend &backend, size_t bytes, const std::string &what) const {
    rt::DeviceBuffer buffer(backend, bytes, what);
    size_t skew = 0;
    for (size_t done = 0; done < bytes;) {
      size_t count = std::min(bytes - done, block_.size() - skew);
      backend.copyToDevice(static_cast<std::byte *>(buffer.data()) + done, block_.data() + skew, count);
      done += count;
      skew = (skew + 4 * 4099) % (block_.size() / 2); // whole elements of 2 or 4 bytes
    }
    return buffer;
  }

private:
  static constexpr int64_t kElements = int64_t(1) << 22;
  std::vector<std::byte> block_;
};

// FLOPs of the matrix products of one ember_forward call on `tokens` rows
// after `start` cached positions: every 2-D weight (attention projections,
// dense MLPs, router, lm_head) on every row; the real routed experts of each
// row, topk x R / (R + Z) on average under uniform routing (zero experts
// multiply nothing); MLA attention on the latent cache, per head and
// attended position q.k over kv_lora + rope values and p.v over kv_lora.
double matrixFlops(const ember::ModelConfig &config, int64_t tokens, int64_t start) {
  double realExperts =
      double(config.moeTopk) * double(config.nRoutedExperts) / double(config.nRoutedExperts + config.zeroExpertNum);
  std::vector<ember::AbiWeight> weights = ember::modelWeights(config);
  double perRow = 0;
  for (size_t i = ember::kEmbeddingWeights; i < weights.size(); ++i) {
    const ember::Shape &shape = weights[i].shape;
    if (shape.size() == 2)
      perRow += 2.0 * double(shape[0]) * double(shape[1]);
    else if (shape.size() == 3) // stacked routed experts [R, rows, columns]
      perRow += 2.0 * realExperts * double(shape[1]) * double(shape[2]);
  }
  double attended = double(tokens) * double(start) + double(tokens) * double(tokens + 1) / 2;
  double perPosition = 2.0 * double(config.numAttentionHeads) * double(2 * config.kvLoraRank + config.qkRopeHeadDim);
  return perRow * double(tokens) + double(ember::kvCacheSublayers(config)) * perPosition * attended;
}

// The bf16 matrix-product rate PyTorch reaches here (matmul_rate.py, a
// subprocess), or why there is none.
struct MatmulCeiling {
  double flopsPerSecond = 0;
  std::string description;
};

MatmulCeiling measureMatmulCeiling(const std::string &script, const rt::Backend &backend) {
  if (!fs::exists(script))
    return {0, script + " not found (--matmul-reference)"};
  try {
    nlohmann::json json =
        runPythonReference(script, {"--device", std::string(backend.name()) == "cuda" ? "cuda" : "cpu"},
                           "measuring the matrix-product ceiling", 1);
    double tflops = json.at("tflops").get<double>();
    char text[256];
    std::snprintf(text, sizeof text, "PyTorch %s bf16 %lldx%lld products on %s: %.3f TFLOP/s",
                  json.at("torch").get<std::string>().c_str(), (long long)json.at("size").get<int64_t>(),
                  (long long)json.at("size").get<int64_t>(), json.at("device").get<std::string>().c_str(), tflops);
    return {tflops * 1e12, text};
  } catch (const nlohmann::json::exception &error) {
    return {0, "cannot read " + fs::path(script).filename().string() + "'s JSON line (" + error.what() + ")"};
  } catch (const Error &error) {
    return {0, error.what()};
  }
}

// The one-layer model in backend memory and the calls of its ember_forward.
class LayerModel {
public:
  LayerModel(rt::Backend &backend, const ember::ModelConfig &config, ember::DType dtype,
             const std::string &artifactPath, int64_t context, int64_t maxTokens, uint64_t seed)
      : backend_(backend), config_(config), artifact_(backend, artifactPath, config, dtype), context_(context) {
    RandomFill weights(dtype, seed), floats(ember::DType::F32, seed + 1);
    std::vector<ember::AbiWeight> abi = ember::modelWeights(config);
    for (size_t i = ember::kEmbeddingWeights; i < abi.size(); ++i) {
      int64_t elements = 1;
      for (int64_t extent : abi[i].shape)
        elements *= extent;
      const RandomFill &fill = abi[i].alwaysF32 ? floats : weights;
      size_t elementSize = abi[i].alwaysF32 ? sizeof(float) : ember::dtypeSize(dtype);
      weights_.push_back(fill.make(backend, size_t(elements) * elementSize, abi[i].name));
      weightArgs_.addMemRef(weights_.back().data(), abi[i].shape);
    }
    size_t rowBytes = size_t(config.hiddenSize) * sizeof(float);
    embeddings_ = floats.make(backend, size_t(maxTokens) * rowBytes, "the input rows");
    kvCache_ =
        floats.make(backend, size_t(kvShape()[0] * context * kvShape()[3]) * sizeof(float), "the latent KV cache");
    logits_ = rt::DeviceBuffer(backend, size_t(maxTokens * config.vocabSize) * sizeof(float), "the logits");
    slots_ = rt::DeviceBuffer(backend, size_t(maxTokens) * sizeof(int32_t), "the rows' slots");
    positions_ = rt::DeviceBuffer(backend, size_t(maxTokens) * sizeof(int32_t), "the rows' positions");
    std::vector<int32_t> zeros(size_t(maxTokens), 0);
    backend.copyToDevice(slots_.data(), zeros.data(), zeros.size() * sizeof(int32_t));
    hidden_ = rt::DeviceBuffer(backend, size_t(maxTokens) * rowBytes, "the final hidden rows");
  }

  // One ember_forward call (T rows of slot 0 after `start` cached
  // positions); returns after the device finished it.
  void run(const LayerCase &call) {
    if (call.name != positionsOf_) {
      std::vector<int32_t> positions(size_t(call.tokens));
      for (size_t t = 0; t < positions.size(); ++t)
        positions[t] = int32_t(call.start + int64_t(t));
      backend_.copyToDevice(positions_.data(), positions.data(), positions.size() * sizeof(int32_t));
      positionsOf_ = call.name;
    }
    rt::PackedArgs args;
    args.addMemRef(embeddings_.data(), {call.tokens, config_.hiddenSize});
    args.addMemRef(slots_.data(), {call.tokens});
    args.addMemRef(positions_.data(), {call.tokens});
    args.addMemRef(kvCache_.data(), kvShape());
    args.addMemRef(logits_.data(), {call.tokens, config_.vocabSize});
    args.addMemRef(hidden_.data(), {call.tokens, config_.hiddenSize});
    args.addAll(weightArgs_);
    {
      rt::ArtifactCallScope scope(call.tokens, call.start);
      artifact_.forward(args.data());
    }
    float first = 0; // a copy surfaces a failed launch (CUDA) as an error
    backend_.copyToHost(&first, hidden_.data(), sizeof first);
  }

  // Throws unless the last call's hidden rows are all finite.
  void checkFinite(const LayerCase &call) {
    std::vector<float> rows(size_t(call.tokens * config_.hiddenSize));
    backend_.copyToHost(rows.data(), hidden_.data(), rows.size() * sizeof(float));
    for (float value : rows)
      if (!std::isfinite(value))
        throw Error("layer " + call.name + ": the final hidden rows are not all finite (random weights too large?)");
  }

private:
  ember::Shape kvShape() const { return {ember::kvCacheSublayers(config_), 1, context_, ember::kvCacheRowWidth(config_)}; }

  rt::Backend &backend_;
  const ember::ModelConfig &config_;
  rt::DecoderArtifact artifact_;
  int64_t context_;
  std::vector<rt::DeviceBuffer> weights_;
  rt::PackedArgs weightArgs_;
  rt::DeviceBuffer embeddings_, kvCache_, logits_, hidden_, slots_, positions_;
  std::string positionsOf_; // the case whose positions positions_ holds
};

struct CaseFigures {
  double seconds = 0;
  std::optional<ModelledStep> modelled;
  std::string notModelled;
  double flops = 0;
};

// A GPU bundle has no ember-compile to model bytes with: `--compile-only`,
// run where the bundle is written, prints them after the artifact's path,
//   modelled bytes of <prebuilt key>
//   <case> <start> <bytes> <kernels>
// and `--modelled-bytes FILE` reads them back for the same artifact.
constexpr char kModelledHeader[] = "modelled bytes of ";

std::map<std::string, ModelledStep> readModelledBytes(const std::string &path, const std::string &key) {
  std::istringstream lines(ember::readFile(path));
  std::map<std::string, ModelledStep> modelled;
  bool header = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(kModelledHeader, 0) == 0) {
      std::string recorded = line.substr(sizeof kModelledHeader - 1);
      if (recorded != key)
        throw Error("--modelled-bytes " + path + " models artifact " + recorded + ", not this run's " + key +
                    " (another preset, dtype or compile flags)");
      header = true;
      continue;
    }
    std::istringstream fields(line);
    std::string name, start;
    ModelledStep step;
    if (header && fields >> name >> start >> step.bytes >> step.kernels)
      modelled[name + "@" + start] = step;
  }
  if (!header)
    throw Error("--modelled-bytes " + path + " has no '" + kModelledHeader + "<key>' line (ember-bench layer " +
                "--compile-only writes the file)");
  return modelled;
}

} // namespace

int layerMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--preset", "--presets-dir", "--cache-dir", "--backend", "--dtype", "--context",
                        "--decode-tokens", "--prefill-tokens", "--seed", "--disable-fusion", "--matmul-reference",
                        "--modelled-bytes"},
                       {"--profile", "--no-cooperative-kernels", "--no-matmul-ceiling", "--compile-only"});
  std::string presetPath =
      ember::resolvePresetPath(args.required("--preset"), args.value("--presets-dir", EMBER_PRESETS_DIR));
  std::string cacheDir = rt::resolveCacheDir(args.value("--cache-dir", ""));
  ember::DType dtype = ember::parseDTypeLower(args.value("--dtype", "bf16"));
  if (dtype != ember::DType::BF16 && dtype != ember::DType::F32)
    throw Error("--dtype must be bf16 or f32 for layer");
  rt::BackendKind backendKind = rt::parseBackendKind(args.value("--backend", "cpu"));
  bool profile = args.has("--profile");
  std::vector<std::string> compileFlags = fusionFlags(args.value("--disable-fusion", ""));
  if (args.has("--no-cooperative-kernels")) {
    if (backendKind == rt::BackendKind::Cpu)
      throw Error("--no-cooperative-kernels applies to GPU kernels: use it with --backend cuda");
    compileFlags.push_back("--cooperative-kernels=false");
  }
  ember::ModelConfig preset = ember::ModelConfig::load(presetPath);
  int64_t context = args.integer("--context", std::min<int64_t>(4096, preset.maxPositionEmbeddings));
  if (context < 1 || context > preset.maxPositionEmbeddings)
    throw Error("--context must be in [1, " + std::to_string(preset.maxPositionEmbeddings) +
                "] (max_position_embeddings of " + presetPath + "), got " + std::to_string(context));
  std::vector<LayerCase> cases;
  for (int64_t tokens : parseCountList(args.value("--decode-tokens", "1,8,64"), "--decode-tokens")) {
    if (tokens > context)
      throw Error("--decode-tokens " + std::to_string(tokens) + " exceeds --context " + std::to_string(context));
    cases.push_back({"decode-T" + std::to_string(tokens), tokens, context - tokens});
  }
  int64_t prefill = args.integer("--prefill-tokens", context);
  if (prefill > context)
    throw Error("--prefill-tokens " + std::to_string(prefill) + " exceeds --context " + std::to_string(context));
  if (prefill > 0)
    cases.push_back({"prefill-T" + std::to_string(prefill), prefill, 0});
  int64_t maxTokens = 0;
  for (const LayerCase &call : cases)
    maxTokens = std::max(maxTokens, call.tokens);
  if (cases.empty() && !args.has("--compile-only"))
    throw Error("no cases: --decode-tokens is empty and --prefill-tokens is 0");

  std::unique_ptr<rt::Backend> backend =
      rt::makeBackend(backendKind, [](const std::string &line) { std::fprintf(stderr, "%s\n", line.c_str()); });
  if (profile)
    rt::requireKernelProfiling(*backend);
  ember::ModelConfig config;
  std::string configPath = writeOneLayerConfig(cacheDir, preset, config);
  rt::ArtifactCache::Artifact artifact = compileForBackend(*backend, cacheDir, config, configPath, dtype, compileFlags);
  std::string key = backendCache(*backend, cacheDir, compileFlags).prebuiltKey(config, dtype);
  auto modelCase = [&](const LayerCase &call) {
    return modelCall(*backend, configPath, dtype, compileFlags, ember::kForwardFunction, call.tokens, call.start);
  };
  if (args.has("--compile-only")) {
    std::printf("%s\n%s%s\n", artifact.path.c_str(), kModelledHeader, key.c_str());
    for (const LayerCase &call : cases) {
      ModelledStep step = modelCase(call);
      std::printf("%s %lld %.0f %lld\n", call.name.c_str(), (long long)call.start, step.bytes, (long long)step.kernels);
    }
    return 0;
  }
  std::map<std::string, ModelledStep> recorded;
  std::string recordedPath = args.value("--modelled-bytes", "");
  if (!recordedPath.empty())
    recorded = readModelledBytes(recordedPath, key);

  auto seed = uint64_t(args.integer("--seed", 1));
  LayerModel model(*backend, config, dtype, artifact.path, context, maxTokens, seed);
  std::printf("preset %s as one shortcut layer + lm_head: %s, D=%lld, V=%lld, %lld routed + %lld zero experts (top "
              "%lld), context %lld, on %s; artifact %s\n",
              presetPath.c_str(), ember::dtypeLowerName(dtype), (long long)config.hiddenSize, (long long)config.vocabSize,
              (long long)config.nRoutedExperts, (long long)config.zeroExpertNum, (long long)config.moeTopk,
              (long long)context, backend->name(), artifact.path.c_str());
  std::fflush(stdout);

  for (const LayerCase &call : cases) { // errors surface here, not inside the benchmark
    model.run(call);
    model.checkFinite(call);
  }
  for (const LayerCase &call : cases)
    benchmark::RegisterBenchmark(("BM_Layer/" + call.name).c_str(),
                                 [&model, call](benchmark::State &state) {
                                   for (auto _ : state)
                                     model.run(call);
                                   state.SetItemsProcessed(state.iterations() * call.tokens);
                                 })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  // A GPU bundle has no ember-compile: the bytes then come from
  // --modelled-bytes, or are not modelled.
  std::vector<CaseFigures> figures;
  std::string modelSource = "ember-compile --report --report-function=ember_forward --batch=T "
                            "--report-position=start --target " +
                            std::string(backend->compileTarget());
  for (const LayerCase &call : cases) {
    CaseFigures row;
    if (const auto *run = reporter.find("BM_Layer/" + call.name))
      row.seconds = run->GetAdjustedRealTime() / 1e3; // reported in ms
    auto found = recorded.find(call.name + "@" + std::to_string(call.start));
    if (found != recorded.end()) {
      row.modelled = found->second;
      modelSource = recordedPath + " (recorded by ember-bench layer --compile-only)";
    } else {
      try {
        row.modelled = modelCase(call);
      } catch (const Error &error) {
        std::string reason = error.what();
        row.notModelled = reason.substr(0, reason.find('\n'));
      }
    }
    row.flops = matrixFlops(config, call.tokens, call.start);
    figures.push_back(row);
  }
  MatmulCeiling ceiling;
  if (args.has("--no-matmul-ceiling"))
    ceiling.description = "not measured (--no-matmul-ceiling)";
  else
    ceiling = measureMatmulCeiling(
        args.value("--matmul-reference", std::string(EMBER_SOURCE_DIR) + "/test/reference/matmul_rate.py"), *backend);

  std::printf("\n== layer summary: %s, one shortcut layer + lm_head, %s weights, context %lld, %s ==\n",
              presetName(presetPath).c_str(), ember::dtypeLowerName(dtype), (long long)context, backend->name());
  std::printf("%-16s %6s %6s %10s %12s %9s %7s %7s %10s %10s %8s\n", "case", "T", "start", "ms/call", "modelled MB",
              "GB/s", "x peak", "x copy", "GFLOP", "TFLOP/s", "x matmul");
  for (size_t i = 0; i < cases.size(); ++i) {
    const CaseFigures &row = figures[i];
    if (row.seconds <= 0) {
      std::printf("%-16s not run (--benchmark_filter)\n", cases[i].name.c_str());
      continue;
    }
    BandwidthFigures bandwidth = bandwidthFigures(*backend, row.modelled ? row.modelled->bytes / row.seconds : 0);
    double flopsPerSecond = row.flops / row.seconds;
    std::printf("%-16s %6lld %6lld %10.3f %12s %9s %7s %7s %10.4g %10.4g %8s\n", cases[i].name.c_str(),
                (long long)cases[i].tokens, (long long)cases[i].start, row.seconds * 1e3,
                row.modelled ? threeDecimals(row.modelled->bytes / 1e6).c_str() : "-",
                bandwidth.gigabytesPerSecond.c_str(), bandwidth.ofPeak.c_str(), bandwidth.ofCopy.c_str(),
                row.flops / 1e9, flopsPerSecond / 1e12,
                threeDecimals(ceiling.flopsPerSecond > 0 ? flopsPerSecond / ceiling.flopsPerSecond : 0).c_str());
  }
  for (size_t i = 0; i < cases.size(); ++i)
    if (!figures[i].notModelled.empty())
      std::printf("%s: bytes not modelled (%s)\n", cases[i].name.c_str(), figures[i].notModelled.c_str());
  std::printf("modelled MB: %s%s\n", modelSource.c_str(), bandwidthCeilings(*backend).c_str());
  std::printf("GFLOP: the matrix products (linears, router, lm_head, topk x R/(R+Z) real experts per row, MLA "
              "attention over the latent cache); x matmul: over the matrix-product ceiling: %s\n",
              ceiling.description.c_str());

  // Apart from the benchmark, whose times the events would slow.
  if (profile)
    for (const LayerCase &call : cases) {
      backend->setKernelProfiling(true);
      for (int repeat = 0; repeat < 3; ++repeat)
        model.run(call);
      backend->setKernelProfiling(false);
      std::printf("\n%s (T = %lld at start %lld), 3 calls: %s", call.name.c_str(), (long long)call.tokens,
                  (long long)call.start, rt::formatKernelProfile(backend->takeKernelProfile()).c_str());
    }
  return 0;
}

} // namespace ember::bench
