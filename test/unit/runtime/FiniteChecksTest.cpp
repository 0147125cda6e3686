// The hooks of a --check-finite build, called as its generated code calls
// them: memref descriptors by pointer (MLIR's C interface).

#include "ember/runtime/FiniteChecks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

struct Label {
  const int8_t *allocated, *aligned;
  int64_t offset, size, stride;
};
struct View2D {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
struct Unranked {
  int64_t rank;
  void *descriptor;
};

} // namespace

extern "C" void _mlir_ciface_ember_check_finite(Unranked *data, Label *label);
extern "C" void _mlir_ciface_ember_enter_scope(Label *label);
extern "C" void ember_leave_scope();

namespace ember::rt {
namespace {

// A view of `text`, which must outlive it.
Label label(const std::string &text) {
  auto *bytes = reinterpret_cast<const int8_t *>(text.data());
  return {bytes, bytes, 0, int64_t(text.size()), 1};
}

// Columns [1, 3) of rows [1, 3) of a 4 x 4 row-major buffer.
void checkInnerBlock(std::vector<float> &buffer, const std::string &name) {
  View2D view{buffer.data(), buffer.data(), 5, {2, 2}, {4, 1}};
  Unranked data{2, &view};
  Label text = label(name);
  _mlir_ciface_ember_check_finite(&data, &text);
}

TEST(FiniteChecks, OnlyTheViewedElementsCountAndTheFirstNonFiniteOneIsNamed) {
  std::vector<float> buffer(16, 1.0f);
  buffer[0] = buffer[3] = buffer[15] = NAN; // outside the view
  resetFiniteChecks();
  checkInnerBlock(buffer, "ember.linear #0 of @f");
  EXPECT_FALSE(firstNonFiniteOutput().has_value());

  buffer[10] = INFINITY; // view [1, 1]
  buffer[9] = -INFINITY; // view [1, 0], first in row-major order
  checkInnerBlock(buffer, "ember.linear #1 of @f");
  ASSERT_TRUE(firstNonFiniteOutput().has_value());
  EXPECT_EQ(*firstNonFiniteOutput(), "ember.linear #1 of @f: 2 of 4 values are NaN or Inf, the first -Inf at [1, 0]");

  // Later outputs are consequences: the first record stays until a reset.
  checkInnerBlock(buffer, "ember.linear #2 of @f");
  EXPECT_EQ(firstNonFiniteOutput()->rfind("ember.linear #1 of @f", 0), 0u);
}

TEST(FiniteChecks, ScopesSayTheLayerAndTheCallsOnTheWay) {
  std::vector<float> buffer(16, 1.0f);
  buffer[6] = NAN; // view [0, 1]
  resetFiniteChecks();
  const std::string forwardName = "@ember_forward", layerName = "model.layers.3", innerName = "@helper";
  Label forward = label(forwardName), layer = label(layerName), inner = label(innerName);
  _mlir_ciface_ember_enter_scope(&forward);
  _mlir_ciface_ember_enter_scope(&layer);
  _mlir_ciface_ember_enter_scope(&inner); // the call into the op's own function: its label names it
  checkInnerBlock(buffer, "ember.rms_norm #4 of @helper");
  ember_leave_scope();
  ember_leave_scope();
  ember_leave_scope();
  EXPECT_EQ(firstNonFiniteOutput().value_or(""), "ember.rms_norm #4 of @helper in model.layers.3 (via ember_forward): "
                                                 "1 of 4 values are NaN or Inf, the first NaN at [0, 1]");
}

} // namespace
} // namespace ember::rt
