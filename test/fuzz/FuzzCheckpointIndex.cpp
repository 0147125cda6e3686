// libFuzzer: model.safetensors.index.json of a model directory that holds
// one valid shard, through Checkpoint (shard names, weight_map, paths that
// must stay inside the directory).

#include "FuzzSupport.h"

#include "ember/runtime/Safetensors.h"

#include <filesystem>
#include <fstream>

namespace {

// The directory, made once per process: a shard with tensors "a" and "b".
const std::filesystem::path &modelDir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path made = ember::fuzz::temporaryDirectory("ember-fuzz-index");
    std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}})";
    uint64_t length = header.size();
    std::ofstream shard(made / "model-00001-of-00001.safetensors", std::ios::binary);
    shard.write(reinterpret_cast<const char *>(&length), sizeof length);
    shard << header << std::string(12, '\1');
    return made;
  }();
  return dir;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::filesystem::path &dir = modelDir();
  {
    std::ofstream index(dir / "model.safetensors.index.json", std::ios::binary | std::ios::trunc);
    index.write(reinterpret_cast<const char *>(data), std::streamsize(size));
  }
  ember::fuzz::expectOnlyErrors([&] {
    ember::rt::Checkpoint checkpoint(dir.string());
    for (const std::string &name : checkpoint.names())
      ember::fuzz::touch(checkpoint.get(name).data, checkpoint.get(name).nbytes);
  });
  return 0;
}
