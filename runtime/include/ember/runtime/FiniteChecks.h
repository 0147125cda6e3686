#pragma once

// What the hooks of a diagnostic build (ember-compile --check-finite) found:
// after every op such a build hands each f32 output to the runtime, which
// records the first one holding NaN or Inf, with the layer it ran in.

#include <optional>
#include <string>

namespace ember::rt {

// Forgets what the checks found so far.
void resetFiniteChecks();
// The first non-finite output since the reset, e.g. "ember.norm_linear #3
// of @ember_shortcut_layer in model.layers.1 (ember_step > ember_forward):
// 40 of 48 values are NaN or Inf, the first NaN at [0, 2]"; nullopt if every
// output checked was finite.
std::optional<std::string> firstNonFiniteOutput();

} // namespace ember::rt
