#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Error.h"

#include "TestSupport.h"

namespace ember::rt {
namespace {

CommandLine parse(std::vector<std::string> words) {
  std::vector<char *> argv;
  for (std::string &word : words)
    argv.push_back(word.data());
  return CommandLine(int(argv.size()), argv.data(), {"--seed", "--top-p", "-o"}, {"--quiet"});
}

TEST(CommandLine, ValuesAndBooleans) {
  CommandLine args = parse({"tool", "--seed", "7", "-o", "out", "--quiet"});
  EXPECT_EQ(args.integer("--seed", 0), 7);
  EXPECT_EQ(args.required("-o"), "out");
  EXPECT_TRUE(args.has("--quiet"));
  EXPECT_EQ(parse({"tool", "--seed=9"}).integer("--seed", 0), 9);
  EXPECT_EQ(parse({"tool"}).value("-o", "fallback"), "fallback");
}

TEST(CommandLine, Errors) {
  EXPECT_ERROR_CONTAINS(parse({"tool", "--bogus"}), "unknown flag '--bogus'");
  EXPECT_ERROR_CONTAINS(parse({"tool", "stray"}), "unexpected argument 'stray'");
  EXPECT_ERROR_CONTAINS(parse({"tool", "--seed"}), "flag --seed needs a value");
  EXPECT_ERROR_CONTAINS(parse({"tool"}).required("-o"), "missing required flag -o");
  EXPECT_ERROR_CONTAINS(parse({"tool", "--seed", "x1"}).integer("--seed", 0),
                        "flag --seed needs a non-negative integer, got 'x1'");
  EXPECT_EQ(parse({"tool", "--top-p=0.25"}).number("--top-p", 1), 0.25);
  EXPECT_EQ(parse({"tool"}).number("--top-p", 1), 1.0);
  EXPECT_ERROR_CONTAINS(parse({"tool", "--top-p", "0.5x"}).number("--top-p", 1),
                        "--top-p expects a number, got '0.5x'");
}

} // namespace
} // namespace ember::rt
