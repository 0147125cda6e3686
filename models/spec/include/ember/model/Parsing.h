#pragma once

// Reading the text the model's files and flags hold.

#include "ember/model/Error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace ember {

// The whole file; an error names the path and the system's reason.
std::string readFile(const std::string &path);

// The file's JSON: nlohmann::json, or nlohmann::ordered_json to keep the keys'
// order. An error names the path (and, for bad JSON, the parser's reason).
template <typename Json = nlohmann::json> Json readJsonFile(const std::string &path) {
  std::string text = readFile(path);
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception &error) {
    throw Error(path + ": invalid JSON: " + error.what());
  }
}

// `text` as a whole base-10 integer: an optional '-' and digits, nothing
// else (no spaces, no '+'); nullopt for anything else or beyond 64 bits.
std::optional<int64_t> parseWholeInteger(const std::string &text);

} // namespace ember
