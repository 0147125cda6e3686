#include "ember/runtime/CommandLine.h"

#include "ember/model/Error.h"
#include "ember/model/ModelAbi.h"
#include "ember/model/Parsing.h"

#include "EmberVersion.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include <iostream>

namespace ember::rt {

std::string versionLine(const std::string &tool) {
  return tool + " (ember " EMBER_VERSION ", git " EMBER_GIT_COMMIT ", LLVM " EMBER_LLVM_VERSION ", artifact ABI " +
         std::to_string(kAbiVersion) + ")";
}

CommandLine::CommandLine(int argc, char **argv, const std::set<std::string> &valueFlags,
                         const std::set<std::string> &booleanFlags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--version") {
      std::printf("%s\n", versionLine(std::filesystem::path(argv[0]).filename().string()).c_str());
      std::exit(0);
    }
    std::string flag = arg, value;
    bool hasInlineValue = false;
    if (size_t equals = arg.find('='); arg.rfind("--", 0) == 0 && equals != std::string::npos) {
      flag = arg.substr(0, equals);
      value = arg.substr(equals + 1);
      hasInlineValue = true;
    }
    if (booleanFlags.count(flag) && !hasInlineValue) {
      values_[flag] = "";
    } else if (valueFlags.count(flag)) {
      if (!hasInlineValue) {
        if (i + 1 >= argc)
          throw Error("flag " + flag + " needs a value");
        value = argv[++i];
      }
      values_[flag] = value;
    } else {
      throw Error((arg.rfind("-", 0) == 0 ? "unknown flag '" : "unexpected argument '") + arg + "' (see --help)");
    }
  }
}

std::string CommandLine::value(const std::string &flag, const std::string &fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

std::string CommandLine::required(const std::string &flag) const {
  auto it = values_.find(flag);
  if (it == values_.end())
    throw Error("missing required flag " + flag + " (see --help)");
  return it->second;
}

double CommandLine::number(const std::string &flag, double fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end())
    return fallback;
  const std::string &text = it->second;
  size_t used = 0;
  double result = 0;
  try {
    result = std::stod(text, &used);
  } catch (const std::exception &) {
    used = 0;
  }
  if (text.empty() || used != text.size())
    throw Error(flag + " expects a number, got '" + text + "'");
  return result;
}

long long CommandLine::integer(const std::string &flag, long long fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end())
    return fallback;
  std::optional<int64_t> result = parseWholeInteger(it->second);
  if (!result || *result < 0)
    throw Error("flag " + flag + " needs a non-negative integer, got '" + it->second + "'");
  return *result;
}

std::vector<std::string> splitList(const std::string &text, char separator) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = std::min(text.find(separator, start), text.size());
    items.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

bool parseOnOff(const std::string &text, const std::string &flag) {
  if (text == "on" || text == "off")
    return text == "on";
  throw Error(flag + " must be on or off, got '" + text + "'");
}

std::vector<int32_t> parseTokenIds(const std::string &text, const std::string &flag) {
  if (text.empty())
    throw Error(flag + ": a list is empty (expected comma-separated token ids, e.g. 1,5,9)");
  std::vector<int32_t> ids;
  for (const std::string &item : splitList(text, ',')) {
    std::optional<int64_t> value = parseWholeInteger(item);
    if (!value || *value < std::numeric_limits<int32_t>::min() || *value > std::numeric_limits<int32_t>::max())
      throw Error(flag + ": item " + std::to_string(ids.size()) + " ('" + item + "') is not an integer token id");
    ids.push_back(int32_t(*value));
  }
  return ids;
}

int runTool(const char *toolName, const std::function<int()> &body) {
  try {
    return body();
  } catch (const std::exception &e) {
    std::cerr << toolName << ": error: " << e.what() << "\n";
    return 1;
  }
}

} // namespace ember::rt
