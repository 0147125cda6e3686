#include "ember/runtime/AtomicFile.h"
#include "ember/model/Error.h"
#include "ember/runtime/Npy.h"
#include "ember/model/Parsing.h"

#include "TestSupport.h"

#include <filesystem>
#include <unistd.h>

namespace ember::rt {
namespace {

TEST(Npy, FloatRoundTrip) {
  test::TempDir dir;
  std::vector<float> values = {1.0f, -2.5f, 3.25f, 0.0f, 1e-7f, 42.0f};
  writeNpy(dir.file("a.npy"), values.data(), {2, 3});
  NpyArray<float> array = readNpyFloat(dir.file("a.npy"));
  EXPECT_EQ(array.shape, (Shape{2, 3}));
  EXPECT_EQ(array.data, values);
  // The header is padded so the data starts at a multiple of 64 bytes.
  EXPECT_EQ((std::filesystem::file_size(dir.file("a.npy")) - values.size() * 4) % 64, 0u);
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.npy.tmp." + std::to_string(getpid()))));
}

TEST(Npy, Int32RoundTripAndOneDimensionalShape) {
  test::TempDir dir;
  std::vector<int32_t> values = {7, -1, 2147483647};
  writeNpy(dir.file("ids.npy"), values.data(), {3});
  NpyArray<int32_t> array = readNpyInt32(dir.file("ids.npy"));
  EXPECT_EQ(array.shape, (Shape{3}));
  EXPECT_EQ(array.data, values);
  std::string header = readFile(dir.file("ids.npy")).substr(10, 60);
  EXPECT_NE(header.find("'descr': '<i4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (3,)"), std::string::npos) << header;
}

TEST(Npy, ReaderRejectsWrongDtype) {
  test::TempDir dir;
  float value = 1.0f;
  writeNpy(dir.file("f.npy"), &value, {1});
  EXPECT_ERROR_CONTAINS(readNpyInt32(dir.file("f.npy")), "f.npy", "'<i4'");
}

} // namespace
} // namespace ember::rt
