// ember-tokenize: text to token ids and back with a model's tokenizer.json,
// the tokenizer ember-run uses for --prompt.

#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Error.h"
#include "ember/runtime/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>

namespace rt = ember::rt;

namespace {

const char *kUsage = R"(usage: ember-tokenize --tokenizer FILE (--text TEXT | --ids IDS | --json) [options]

Encodes text to token ids, or decodes ids to text, with a Hugging Face
tokenizer.json of the byte-level BPE family (GPT-2, Llama 3, DeepSeek,
LongCat), as HF tokenizers' encode(text) and decode(ids) do.

  --tokenizer FILE         the tokenizer.json (a model folder's)
  --text TEXT              print TEXT's ids, comma-separated
  --ids IDS                print the text of comma-separated ids
  --json                   read a JSON array of strings from stdin and print a
                           JSON array of {"ids": [...], "text": decode(ids)}
  --no-special-tokens      do not add the post-processor's tokens (BOS) when
                           encoding (HF add_special_tokens=False)
  --skip-special-tokens    leave special tokens out when decoding
  --help                   this text
)";

int tokenizeMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv, {"--tokenizer", "--text", "--ids"},
                       {"--json", "--no-special-tokens", "--skip-special-tokens", "--help"});
  if (args.has("--help")) {
    std::cout << kUsage;
    return 0;
  }
  int modes = int(args.has("--text")) + int(args.has("--ids")) + int(args.has("--json"));
  if (modes != 1)
    throw rt::Error("give exactly one of --text, --ids and --json (see --help)");
  rt::Tokenizer tokenizer = rt::Tokenizer::load(args.required("--tokenizer"));
  bool addSpecial = !args.has("--no-special-tokens"), skipSpecial = args.has("--skip-special-tokens");
  if (args.has("--text")) {
    std::vector<int32_t> ids = tokenizer.encode(args.value("--text", ""), addSpecial);
    for (size_t i = 0; i < ids.size(); ++i)
      std::cout << (i ? "," : "") << ids[i];
    std::cout << "\n";
  } else if (args.has("--ids")) {
    std::cout << tokenizer.decode(rt::parseTokenIds(args.value("--ids", ""), "--ids"), skipSpecial) << "\n";
  } else {
    nlohmann::json texts;
    try {
      std::string input(std::istreambuf_iterator<char>(std::cin), {});
      texts = nlohmann::json::parse(input);
    } catch (const nlohmann::json::exception &error) {
      throw rt::Error(std::string("--json: stdin is not JSON: ") + error.what());
    }
    if (!texts.is_array())
      throw rt::Error("--json: stdin must hold a JSON array of strings, got " + std::string(texts.type_name()));
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < texts.size(); ++i) {
      if (!texts[i].is_string())
        throw rt::Error("--json: item " + std::to_string(i) + " is not a string");
      std::vector<int32_t> ids = tokenizer.encode(texts[i].get<std::string>(), addSpecial);
      out.push_back({{"ids", ids}, {"text", tokenizer.decode(ids, skipSpecial)}});
    }
    // Decoded bytes that are not valid UTF-8 are written as U+FFFD, as HF does.
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return rt::runTool("ember-tokenize", [&] { return tokenizeMain(argc, argv); });
}
