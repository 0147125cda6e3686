#pragma once

// Typed access to the fields of a JSON object read from a file (config.json,
// generation_config.json), with messages naming the file and the field.
// Used by the readers of those files, here and in the runtime.

#include "ember/model/Config.h"
#include "ember/model/Error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace ember {

// The environment variable that moves ConfigLimits.
inline constexpr const char *kLimitsVariable = "EMBER_CONFIG_LIMITS";

// Typed field access with messages naming the config file and field; integer
// fields are bounded by `limits` when given.
class FieldReader {
public:
  FieldReader(const nlohmann::json &object, const std::string &source, const ConfigLimits *limits = nullptr)
      : object_(object), source_(source), limits_(limits) {}

  const nlohmann::json &field(const std::string &name) const {
    if (!object_.contains(name))
      throw Error(source_ + ": missing field '" + name + "'");
    return object_[name];
  }
  int64_t integer(const std::string &name, int64_t minimum) const { return checked(field(name), name, minimum); }
  // An integer or a non-empty list of them (HF writes eos_token_id either way).
  std::vector<int64_t> integers(const std::string &name, int64_t minimum) const {
    const nlohmann::json &value = field(name);
    if (!value.is_array())
      return {checked(value, name, minimum)};
    if (value.empty())
      throw Error(source_ + ": field '" + name + "' must be an integer or a non-empty list of integers, got []");
    std::vector<int64_t> result;
    for (const nlohmann::json &item : value)
      result.push_back(checked(item, name, minimum));
    return result;
  }
  int64_t checked(const nlohmann::json &value, const std::string &name, int64_t minimum) const {
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())))
      throw Error(source_ + ": field '" + name + "' must be an integer, got " + value.dump());
    int64_t result = value.get<int64_t>();
    if (result < minimum)
      throw Error(source_ + ": field '" + name + "' must be >= " + std::to_string(minimum) + ", got " +
                  std::to_string(result));
    if (limits_ && result > limits_->maximum(name))
      throw Error(source_ + ": field '" + name + "' (" + std::to_string(result) + ") exceeds ember's limit of " +
                  std::to_string(limits_->maximum(name)) + " (raise it with " + kLimitsVariable + "=" + name + "=N)");
    return result;
  }
  double number(const std::string &name) const {
    const nlohmann::json &value = field(name);
    if (!value.is_number())
      throw Error(source_ + ": field '" + name + "' must be a number, got " + value.dump());
    return value.get<double>();
  }
  double positiveNumber(const std::string &name) const {
    double result = number(name);
    if (!(result > 0))
      throw Error(source_ + ": field '" + name + "' must be > 0, got " + field(name).dump());
    return result;
  }
  bool boolean(const std::string &name) const {
    const nlohmann::json &value = field(name);
    if (!value.is_boolean())
      throw Error(source_ + ": field '" + name + "' must be a boolean, got " + value.dump());
    return value.get<bool>();
  }

private:
  const nlohmann::json &object_;
  const std::string &source_;
  const ConfigLimits *limits_;
};

} // namespace ember
