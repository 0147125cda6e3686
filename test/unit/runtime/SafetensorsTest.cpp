#include "ember/model/Error.h"
#include "ember/runtime/Safetensors.h"
#include "ember/runtime/SafetensorsWriter.h"

#include "TestSupport.h"

#include <filesystem>

namespace ember::rt {
namespace {

std::vector<float> valuesOf(const TensorView &view) {
  std::vector<float> values(view.nbytes / dtypeSize(view.dtype));
  convertToFloat(view.data, view.dtype, values.size(), values.data());
  return values;
}

TEST(SafetensorsWriter, SingleFileRoundTrip) {
  test::TempDir dir;
  writeSafetensors(dir.file("model.safetensors"),
                   {test::iotaTensor("bias", DType::F32, {3}), test::iotaTensor("w", DType::BF16, {2, 3}, 10),
                    test::iotaTensor("h", DType::F16, {1, 1, 5}, -2)});
  SafetensorsFile file(dir.file("model.safetensors"));
  ASSERT_EQ(file.tensors().size(), 3u);
  const TensorView *w = file.find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::BF16);
  EXPECT_EQ(w->shape, (Shape{2, 3}));
  EXPECT_EQ(w->nbytes, 12u);
  EXPECT_EQ(w->file, dir.file("model.safetensors"));
  EXPECT_EQ(valuesOf(*w), (std::vector<float>{10, 11, 12, 13, 14, 15}));
  EXPECT_EQ(valuesOf(*file.find("h")), (std::vector<float>{-2, -1, 0, 1, 2}));
  // Declared consecutively means stored back to back; data starts 8-byte aligned.
  EXPECT_EQ(file.find("bias")->data + 12, w->data);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(file.find("bias")->data) % 8, 0u);
  EXPECT_EQ(file.find("missing"), nullptr);
}

TEST(SafetensorsWriter, RejectsMisalignedAndIncompleteData) {
  test::TempDir dir;
  EXPECT_ERROR_CONTAINS(SafetensorsWriter(dir.file("a.safetensors"),
                                          {{"h", DType::BF16, {3}}, {"f", DType::F32, {1}}}),
                        "tensor 'f' would start at byte 6");
  {
    SafetensorsWriter writer(dir.file("b.safetensors"), {{"f", DType::F32, {4}}});
    float value = 1;
    writer.write(&value, 4);
    EXPECT_ERROR_CONTAINS(writer.finish(), "only 4 of 16 bytes");
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())); // no partial output left behind
}

TEST(Checkpoint, SingleFileDirectory) {
  test::TempDir dir;
  writeSafetensors(dir.file("model.safetensors"), {test::iotaTensor("a", DType::F32, {2, 2})});
  Checkpoint checkpoint(dir.path());
  EXPECT_EQ(checkpoint.names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(valuesOf(checkpoint.get("a", {2, 2})), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_ERROR_CONTAINS(checkpoint.get("b"), dir.path() + ": missing tensor 'b'");
  EXPECT_ERROR_CONTAINS(checkpoint.get("a", {4, 1}), dir.file("model.safetensors"),
                        "tensor 'a': expected shape [4, 1], got [2, 2]");
}

TEST(Checkpoint, ShardedIndexPlusExtraShard) {
  test::TempDir dir;
  writeSafetensors(dir.file("model-00001-of-00002.safetensors"), {test::iotaTensor("a", DType::F32, {2})});
  writeSafetensors(dir.file("model-00002-of-00002.safetensors"),
                   {test::iotaTensor("b", DType::BF16, {3}), test::iotaTensor("c", DType::BF16, {1})});
  writeSafetensors(dir.file("model-auxiliary.safetensors"), {test::iotaTensor("mtp", DType::F16, {2})});
  test::writeBytes(dir.file("model.safetensors.index.json"),
                   R"({"metadata": {"total_size": 16}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                       "b": "model-00002-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}})");
  Checkpoint checkpoint(dir.path());
  EXPECT_EQ(checkpoint.names(), (std::vector<std::string>{"a", "b", "c", "mtp"}));
  EXPECT_EQ(checkpoint.get("b").file, dir.file("model-00002-of-00002.safetensors"));
  EXPECT_EQ(valuesOf(checkpoint.get("mtp")), (std::vector<float>{0, 1}));
  EXPECT_EQ(checkpoint.files().size(), 3u);
}

TEST(Checkpoint, IndexNamingMissingShard) {
  test::TempDir dir;
  test::writeBytes(dir.file("model.safetensors.index.json"),
                   R"({"weight_map": {"a": "model-00001-of-00009.safetensors"}})");
  EXPECT_ERROR_CONTAINS(Checkpoint{dir.path()}, "model.safetensors.index.json",
                        "weight_map entry 'a' names shard 'model-00001-of-00009.safetensors', which does not exist");
}

// A shard outside the model directory is refused even when the file exists:
// the index cannot make ember load another file.
TEST(Checkpoint, IndexShardsStayInsideTheModelDirectory) {
  test::TempDir dir;
  std::filesystem::create_directory(dir.file("model"));
  std::filesystem::create_directory(dir.file("model/sub"));
  writeSafetensors(dir.file("outside.safetensors"), {test::iotaTensor("a", DType::F32, {1})});
  writeSafetensors(dir.file("model/sub/inner.safetensors"), {test::iotaTensor("a", DType::F32, {1})});
  std::vector<std::string> shards{"../outside.safetensors", dir.file("outside.safetensors"), "sub/inner.safetensors",
                                  "./../outside.safetensors", "..", ""};
  for (const std::string &shard : shards) {
    test::writeBytes(dir.file("model/model.safetensors.index.json"),
                     R"({"weight_map": {"a": ")" + shard + R"("}})");
    EXPECT_ERROR_CONTAINS(Checkpoint{dir.file("model")}, "weight_map entry 'a' names shard '" + shard + "'",
                          "which is not a file name inside the model directory");
  }
}

TEST(Checkpoint, IndexMappingTensorToWrongShard) {
  test::TempDir dir;
  writeSafetensors(dir.file("s1.safetensors"), {test::iotaTensor("a", DType::F32, {1})});
  test::writeBytes(dir.file("model.safetensors.index.json"), R"({"weight_map": {"z": "s1.safetensors"}})");
  EXPECT_ERROR_CONTAINS(Checkpoint{dir.path()}, "maps tensor 'z' to 's1.safetensors'", "does not contain it");
}

TEST(Checkpoint, DuplicateTensorAcrossFiles) {
  test::TempDir dir;
  writeSafetensors(dir.file("model.safetensors"), {test::iotaTensor("a", DType::F32, {1})});
  writeSafetensors(dir.file("extra.safetensors"), {test::iotaTensor("a", DType::F32, {1})});
  EXPECT_ERROR_CONTAINS(Checkpoint{dir.path()}, "tensor 'a' appears in both");
}

TEST(Checkpoint, EmptyOrMissingDirectory) {
  test::TempDir dir;
  EXPECT_ERROR_CONTAINS(Checkpoint{dir.path()}, dir.path(), "neither model.safetensors.index.json nor model.safetensors");
  EXPECT_ERROR_CONTAINS(Checkpoint{dir.file("nope")}, "not a directory");
}

// Header validation: one test per failure, each naming the file.
class SafetensorsErrors : public ::testing::Test {
protected:
  std::string path() const { return dir_.file("bad.safetensors"); }
  test::TempDir dir_;
};

TEST_F(SafetensorsErrors, FileShorterThanEightBytes) {
  test::writeBytes(path(), "abc");
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, path(), "3 bytes, shorter than the 8-byte");
}

TEST_F(SafetensorsErrors, HeaderLengthPastEnd) {
  std::string bytes(8, '\0');
  bytes[0] = char(200);
  test::writeBytes(path(), bytes + "{}");
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, path(), "header length 200 exceeds file size 10");
}

TEST_F(SafetensorsErrors, InvalidJsonHeader) {
  test::writeRawSafetensors(path(), "{\"a\": [", 0);
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, path(), "invalid JSON header");
}

TEST_F(SafetensorsErrors, UnsupportedDtype) {
  test::writeRawSafetensors(path(), R"({"t": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", 8);
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, path(),
                        "tensor 't': unsupported dtype 'I64' (expected F32, BF16 or F16)");
}

TEST_F(SafetensorsErrors, OffsetsOutOfRangeOrTruncated) {
  test::writeRawSafetensors(path(), R"({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 10);
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, path(),
                        "tensor 't': data_offsets [0, 16] are out of range (data section has 10 bytes", "truncated");
}

TEST_F(SafetensorsErrors, BeginAfterEnd) {
  test::writeRawSafetensors(path(), R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8);
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, path(), "tensor 't': data_offsets [8, 4] have begin > end");
}

TEST_F(SafetensorsErrors, ByteCountMismatch) {
  test::writeRawSafetensors(path(), R"({"t": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 8]}})", 8);
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, path(),
                        "tensor 't': data_offsets [0, 8] hold 8 bytes but dtype BF16 with shape [2, 3] needs 12");
}

TEST_F(SafetensorsErrors, OverlappingRanges) {
  test::writeRawSafetensors(path(),
                            R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                            12);
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, path(), "tensors 'a' and 'b' have overlapping data offsets");
}

TEST_F(SafetensorsErrors, MalformedEntries) {
  test::writeRawSafetensors(path(), R"({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}})", 0);
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, "tensor 't': shape [-1] must hold non-negative integers");
  test::writeRawSafetensors(path(), R"({"t": {"dtype": "F32", "shape": [1]}})", 4);
  EXPECT_ERROR_CONTAINS(SafetensorsFile{path()}, "tensor 't': 'data_offsets' must be two non-negative integers");
}

TEST_F(SafetensorsErrors, MetadataAndEmptyTensorsAreFine) {
  test::writeRawSafetensors(path(),
                            R"({"__metadata__": {"format": "pt"},
                                "e": {"dtype": "F32", "shape": [0, 3], "data_offsets": [0, 0]},
                                "t": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}})",
                            4);
  SafetensorsFile file(path());
  EXPECT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.find("e")->nbytes, 0u);
}

} // namespace
} // namespace ember::rt
