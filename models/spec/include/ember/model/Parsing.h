#pragma once

// Reading the text the model's files and flags hold.

#include <cstdint>
#include <optional>
#include <string>

namespace ember {

// The whole file; an error names the path and the system's reason.
std::string readFile(const std::string &path);

// `text` as a whole base-10 integer: an optional '-' and digits, nothing
// else (no spaces, no '+'); nullopt for anything else or beyond 64 bits.
std::optional<int64_t> parseWholeInteger(const std::string &text);

} // namespace ember
