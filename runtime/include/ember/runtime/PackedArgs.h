#pragma once

#include "ember/runtime/MemRef.h"
#include "ember/model/Shape.h"

#include <cstdint>
#include <deque>
#include <string>
#include <variant>
#include <vector>

namespace ember::rt {

// A compiled artifact's packed entry point: `<name>_packed(void **args)`.
using PackedFn = void (*)(void **args);

// The argument array of an MLIR `<name>_packed(void **args)` entry point:
// args[i] points to argument i, a memref descriptor (every ember entry point
// takes memrefs only). The pointees live here (a deque keeps their addresses
// stable while growing).
class PackedArgs {
public:
  // A row-major memref of rank 1..4 over caller-owned memory.
  void addMemRef(const void *data, const Shape &shape);
  // Appends `other`'s arguments by reference: `other` must outlive the call.
  void addAll(const PackedArgs &other);

  void **data() { return pointers_.data(); }
  size_t size() const { return pointers_.size(); }
  // The bytes of every argument (addresses, sizes, strides): equal for two
  // calls exactly when the entry point sees the same arguments.
  std::string fingerprint() const;

private:
  using Slot = std::variant<MemRefDescriptor<void, 1>, MemRefDescriptor<void, 2>, MemRefDescriptor<void, 3>,
                            MemRefDescriptor<void, 4>>;
  std::deque<Slot> storage_;
  std::vector<void *> pointers_;
  std::vector<size_t> sizes_; // of each pointee
};

} // namespace ember::rt
