#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ember {

using Shape = std::vector<int64_t>;

// "[a, b, c]", the form every shape-mismatch message uses.
std::string formatShape(const Shape &shape);
// Product of the dimensions; throws (naming `what`) on negative dimensions or
// int64 overflow.
int64_t elementCount(const Shape &shape, const std::string &what);

} // namespace ember
