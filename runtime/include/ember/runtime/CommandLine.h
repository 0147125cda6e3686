#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ember::rt {

// "<tool> (ember <version>, git <commit>, LLVM <version>, artifact ABI <n>)":
// what every tool's --version prints (LLVM: the one ember-compile generates
// code with).
std::string versionLine(const std::string &tool);

// Minimal flag parser shared by the tools: "--flag value", "--flag=value" and
// boolean "--flag"; anything unknown is an error naming it. --version, in
// every tool, prints versionLine and exits.
class CommandLine {
public:
  CommandLine(int argc, char **argv, const std::set<std::string> &valueFlags,
              const std::set<std::string> &booleanFlags);

  bool has(const std::string &flag) const { return values_.count(flag) != 0; }
  std::string value(const std::string &flag, const std::string &fallback) const;
  // Throws "missing required flag <flag>".
  std::string required(const std::string &flag) const;
  // Parses a non-negative integer value; throws naming the flag on bad input.
  long long integer(const std::string &flag, long long fallback) const;
  // Parses a floating-point value; throws "<flag> expects a number, got 'x'".
  double number(const std::string &flag, double fallback) const;

private:
  std::map<std::string, std::string> values_;
};

// The items of `text` between `separator`s, empty ones included ("1,,2"
// has three, "" one).
std::vector<std::string> splitList(const std::string &text, char separator);

// "on" or "off"; throws "<flag> must be on or off, got 'x'".
bool parseOnOff(const std::string &text, const std::string &flag);

// Comma-separated int32 token ids, e.g. "1,5,9"; throws "<flag>: item 2
// ('x') is not an integer token id" (or "<flag>: a list is empty").
std::vector<int32_t> parseTokenIds(const std::string &text, const std::string &flag);

// Runs a tool's body; any exception becomes "<tool>: error: <message>" on
// stderr and exit status 1.
int runTool(const char *toolName, const std::function<int()> &body);

} // namespace ember::rt
