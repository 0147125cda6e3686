#include "ember/runtime/CommandLine.h"
#include "ember/model/Error.h"
#include "ember/model/Parsing.h"

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

TEST(CommandLine, WholeIntegersOnly) {
  EXPECT_EQ(parseWholeInteger("0"), 0);
  EXPECT_EQ(parseWholeInteger("-42"), -42);
  EXPECT_EQ(parseWholeInteger("9223372036854775807"), INT64_MAX);
  for (const char *bad : {"", " 5", "5 ", "+5", "5x", "0x10", "1e3", "-", "9223372036854775808"})
    EXPECT_EQ(parseWholeInteger(bad), std::nullopt) << "'" << bad << "'";
  EXPECT_ERROR_CONTAINS(parse({"tool", "--seed", " 7"}).integer("--seed", 0),
                        "flag --seed needs a non-negative integer, got ' 7'");
  EXPECT_ERROR_CONTAINS(parse({"tool", "--seed", "-1"}).integer("--seed", 0),
                        "flag --seed needs a non-negative integer, got '-1'");
}

TEST(CommandLine, SplitListKeepsEmptyItems) {
  EXPECT_EQ(splitList("1,5", ','), (std::vector<std::string>{"1", "5"}));
  EXPECT_EQ(splitList("1,,2,", ','), (std::vector<std::string>{"1", "", "2", ""}));
  EXPECT_EQ(splitList("", ';'), (std::vector<std::string>{""}));
}

TEST(CommandLine, TokenIdLists) {
  EXPECT_EQ(parseTokenIds("1,5,-9", "--prompt-ids"), (std::vector<int32_t>{1, 5, -9}));
  EXPECT_EQ(parseTokenIds("2147483647", "--prompt-ids"), (std::vector<int32_t>{INT32_MAX}));
  EXPECT_ERROR_CONTAINS(parseTokenIds("", "--prompt-ids"), "--prompt-ids: a list is empty");
  EXPECT_ERROR_CONTAINS(parseTokenIds("1,,2", "--prompt-ids"), "--prompt-ids: item 1 ('') is not an integer token id");
  EXPECT_ERROR_CONTAINS(parseTokenIds("1,2,", "--prompt-ids"), "item 2 ('') is not an integer token id");
  EXPECT_ERROR_CONTAINS(parseTokenIds("2147483648", "--prompt-ids"), "item 0 ('2147483648') is not an integer");
  EXPECT_ERROR_CONTAINS(parseTokenIds("1, 2", "--prompt-ids"), "item 1 (' 2') is not an integer token id");
}

} // namespace
} // namespace ember::rt
