#include "ember/runtime/ProgressLine.h"

namespace ember::rt {

GenerationProgressLine::GenerationProgressLine(int64_t maxNewTokens, std::FILE *out, bool terminal, Clock clock)
    : maxNewTokens_(maxNewTokens), out_(out), terminal_(terminal), clock_(std::move(clock)), start_(clock_()),
      lastPrint_(start_) {}

void GenerationProgressLine::operator()(int64_t generated) {
  auto now = clock_();
  if (generated > 0 && !firstToken_)
    firstToken_ = now;
  auto interval = terminal_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
  // A rate needs a token after the first and time since it.
  if (!out_ || !firstToken_ || generated < 2 || now == *firstToken_ || now - start_ < std::chrono::seconds(1) ||
      now - lastPrint_ < interval)
    return;
  lastPrint_ = now;
  lineOpen_ = terminal_;
  auto seconds = [](std::chrono::steady_clock::duration span) { return std::chrono::duration<double>(span).count(); };
  double sinceFirst = seconds(now - *firstToken_), firstAfter = seconds(*firstToken_ - start_);
  double rate = double(generated - 1) / sinceFirst, remaining = double(maxNewTokens_ - generated) / rate;
  std::fprintf(out_, "%sgenerated %lld/%lld tokens, first after %.2f s, %.1f tokens/s, about %.0f s left%s",
               terminal_ ? "\r" : "", (long long)generated, (long long)maxNewTokens_, firstAfter, rate, remaining,
               terminal_ ? "\033[K" : "\n"); // erase what a longer line left to the right
  std::fflush(out_);
}

void GenerationProgressLine::finish() {
  if (lineOpen_)
    std::fprintf(out_, "\n");
  lineOpen_ = false;
}

} // namespace ember::rt
