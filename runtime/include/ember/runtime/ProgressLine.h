#pragma once

// A generation's progress for people watching it.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>

namespace ember::rt {

// "generated i/N tokens, first after t s, x tokens/s, about s s left" on
// `out` once a generation has run for a second: on a terminal one line
// redrawn in place (\r) every 200 ms, into a file or pipe a new line every
// 5 s, so logs stay readable. The rate counts the tokens after the first,
// whose wait (the prefill) the line shows on its own. A GenerationProgress
// callback (Generate.h).
class GenerationProgressLine {
public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `out` null: prints nothing.
  GenerationProgressLine(int64_t maxNewTokens, std::FILE *out, bool terminal,
                         Clock clock = std::chrono::steady_clock::now);
  void operator()(int64_t generated);
  void finish(); // ends the line if one is open

private:
  int64_t maxNewTokens_;
  std::FILE *out_;
  bool terminal_, lineOpen_ = false;
  Clock clock_;
  std::chrono::steady_clock::time_point start_, lastPrint_;
  std::optional<std::chrono::steady_clock::time_point> firstToken_;
};

} // namespace ember::rt
