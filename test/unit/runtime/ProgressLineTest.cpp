#include "ember/runtime/ProgressLine.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace ember::rt {
namespace {

using namespace std::chrono_literals;

// The line's output, captured in memory, with a clock the test moves.
struct Capture {
  char *text = nullptr;
  size_t size = 0;
  std::FILE *out = open_memstream(&text, &size);
  std::chrono::steady_clock::time_point now{};
  GenerationProgressLine::Clock clock() {
    return [this] { return now; };
  }
  std::string read() {
    std::fflush(out);
    return std::string(text, size);
  }
  ~Capture() {
    std::fclose(out);
    std::free(text);
  }
};

TEST(ProgressLine, IntoAFileALineEveryFiveSeconds) {
  Capture capture;
  GenerationProgressLine line(100, capture.out, /*terminal=*/false, capture.clock());
  capture.now += 500ms; // the prefill: the first token
  line(1);
  capture.now += 1500ms; // not 5 s yet
  line(19);
  EXPECT_EQ(capture.read(), "");
  capture.now += 3s; // 5 s: 45 tokens in the 4.5 s after the first
  line(46);
  EXPECT_EQ(capture.read(), "generated 46/100 tokens, first after 0.50 s, 10.0 tokens/s, about 5 s left\n");
  capture.now += 4s; // within 5 s of that line
  line(86);
  capture.now += 1s;
  line(96);
  EXPECT_EQ(capture.read(), "generated 46/100 tokens, first after 0.50 s, 10.0 tokens/s, about 5 s left\n"
                            "generated 96/100 tokens, first after 0.50 s, 10.0 tokens/s, about 0 s left\n");
  line.finish(); // its lines end already
  EXPECT_EQ(capture.read().back(), '\n');
  EXPECT_EQ(capture.read().find('\r'), std::string::npos);
}

TEST(ProgressLine, OnATerminalOneLineRedrawnEvery200Ms) {
  Capture capture;
  GenerationProgressLine line(20, capture.out, /*terminal=*/true, capture.clock());
  capture.now += 1s;
  line(1); // no rate yet: one token
  capture.now += 1s;
  line(3);
  capture.now += 100ms; // too soon to redraw
  line(4);
  capture.now += 100ms;
  line(5);
  line.finish();
  // Each redraw erases the rest of the line ("about 10 s" -> "about 9 s" left a character behind).
  EXPECT_EQ(capture.read(), "\rgenerated 3/20 tokens, first after 1.00 s, 2.0 tokens/s, about 8 s left\033[K"
                            "\rgenerated 5/20 tokens, first after 1.00 s, 3.3 tokens/s, about 4 s left\033[K\n");
}

TEST(ProgressLine, SilentWithoutAStreamOrBeforeTheFirstToken) {
  Capture capture;
  GenerationProgressLine line(10, capture.out, false, capture.clock());
  capture.now += 3s;
  line(0); // still in the prefill: no rate to show
  EXPECT_EQ(capture.read(), "");
  GenerationProgressLine silent(10, nullptr, true, capture.clock());
  capture.now += 3s;
  silent(2);
  silent.finish();
}

} // namespace
} // namespace ember::rt
