#include "ember/model/Shape.h"

#include "ember/model/Error.h"

#include <limits>

namespace ember {

std::string formatShape(const Shape &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

int64_t elementCount(const Shape &shape, const std::string &what) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      throw Error(what + ": shape " + formatShape(shape) + " has a negative dimension");
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim)
      throw Error(what + ": shape " + formatShape(shape) + " has too many elements");
    count *= dim;
  }
  return count;
}

} // namespace ember
