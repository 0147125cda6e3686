#pragma once

#include <stdexcept>
#include <string>

namespace ember {

// Every failure ember reports to a user, from the model's specification and
// the runtime alike: the message names the file/tensor/field involved and
// the expected vs. actual value, so tools can print it verbatim.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

} // namespace ember
