// ember-tokenize: text to token ids and back with a model's tokenizer.json,
// the tokenizer ember-run uses for --prompt; and a conversation rendered
// with the model's chat template, as ember-run --chat renders it.

#include "ember/runtime/ChatTemplate.h"
#include "ember/runtime/CommandLine.h"
#include "ember/model/Error.h"
#include "ember/model/Parsing.h"
#include "ember/runtime/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>
#include <iterator>
#include <optional>

namespace rt = ember::rt;

namespace {

const char *kUsage = R"(usage: ember-tokenize --tokenizer FILE (--text TEXT | --ids IDS | --json) [options]
       ember-tokenize (--tokenizer FILE | --chat-template FILE) --chat-messages FILE [options]

Encodes text to token ids, or decodes ids to text, with a Hugging Face
tokenizer.json of the byte-level BPE family (GPT-2, Llama 3, DeepSeek,
LongCat), as HF tokenizers' encode(text) and decode(ids) do.

  --tokenizer FILE         the tokenizer.json (a model folder's)
  --text TEXT              print TEXT's ids, comma-separated
  --ids IDS                print the text of comma-separated ids
  --json                   read a JSON array of strings from stdin and print a
                           JSON array of {"ids": [...], "text": decode(ids)}
  --chat-messages FILE     render the conversation in FILE (a JSON array of
                           {"role", "content"} messages, or an object with
                           "messages" and more template variables, e.g. "tools")
                           with the chat template, as HF's apply_chat_template(
                           messages, tokenize=False, add_generation_prompt=True)
                           does, and print {"text": rendered, "ids": [...]}
                           (ids: encode(rendered, add_special_tokens=False),
                           only with --tokenizer)
  --chat-template FILE     the Jinja chat template to render; without it, the
                           template of the --tokenizer file's folder
                           (chat_template.jinja or tokenizer_config.json's)
  --no-generation-prompt   render with add_generation_prompt=False
  --no-special-tokens      do not add the post-processor's tokens (BOS) when
                           encoding (HF add_special_tokens=False)
  --skip-special-tokens    leave special tokens out when decoding
  --help                   this text
)";

// --chat-messages: the conversation rendered with the chat template (and its ids).
int chatMain(const rt::CommandLine &args) {
  if (!args.has("--tokenizer") && !args.has("--chat-template"))
    throw ember::Error("--chat-messages needs --tokenizer or --chat-template (see --help)");
  rt::Conversation conversation = rt::readConversation(args.value("--chat-messages", ""));
  std::optional<rt::ChatTemplate> chatTemplate;
  if (args.has("--chat-template")) {
    std::string path = args.value("--chat-template", "");
    chatTemplate.emplace(ember::readFile(path), path);
  } else {
    std::filesystem::path folder = std::filesystem::path(args.value("--tokenizer", "")).parent_path();
    chatTemplate.emplace(rt::ChatTemplate::fromModelDir(folder.empty() ? "." : folder.string()));
  }
  std::string text = chatTemplate->render(conversation.messages, !args.has("--no-generation-prompt"),
                                         conversation.variables);
  nlohmann::ordered_json out = {{"text", text}};
  if (args.has("--tokenizer"))
    out["ids"] = rt::Tokenizer::load(args.value("--tokenizer", "")).encode(text, false);
  std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int tokenizeMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv, {"--tokenizer", "--text", "--ids", "--chat-messages", "--chat-template"},
                       {"--json", "--no-special-tokens", "--skip-special-tokens", "--no-generation-prompt", "--help"});
  if (args.has("--help")) {
    std::cout << kUsage;
    return 0;
  }
  int modes = int(args.has("--text")) + int(args.has("--ids")) + int(args.has("--json"));
  if (args.has("--chat-messages")) {
    if (modes)
      throw ember::Error("--chat-messages cannot be combined with --text, --ids or --json (see --help)");
    return chatMain(args);
  }
  if (modes != 1)
    throw ember::Error("give exactly one of --text, --ids and --json (see --help)");
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
      throw ember::Error(std::string("--json: stdin is not JSON: ") + error.what());
    }
    if (!texts.is_array())
      throw ember::Error("--json: stdin must hold a JSON array of strings, got " + std::string(texts.type_name()));
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < texts.size(); ++i) {
      if (!texts[i].is_string())
        throw ember::Error("--json: item " + std::to_string(i) + " is not a string");
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
