#include "Prompt.h"

#include "ember/model/Error.h"
#include "ember/runtime/ChatTemplate.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace fs = std::filesystem;
namespace rt = ember::rt;
using ember::Error;

bool hasTextPrompt(const rt::CommandLine &args) {
  return args.has("--prompt") || args.has("--prompt-file") || args.has("--messages");
}

std::optional<rt::Tokenizer> loadTokenizer(const std::string &modelDir, bool required, bool quiet) {
  std::string path = (fs::path(modelDir) / "tokenizer.json").string();
  if (!fs::exists(path)) {
    if (required)
      throw Error(path + " not found: --prompt, --prompt-file, --messages and --stop need the model's tokenizer");
    return std::nullopt;
  }
  try {
    return rt::Tokenizer::load(path);
  } catch (const Error &error) {
    if (required)
      throw;
    if (!quiet)
      std::fprintf(stderr, "note: %s; the generated ids are not decoded to text\n", error.what());
    return std::nullopt;
  }
}

std::vector<std::string> stopStrings(const rt::CommandLine &args) {
  if (!args.has("--stop"))
    return {};
  std::string value = args.value("--stop", "");
  if (value.empty() || value[0] != '[')
    return {value};
  try {
    return nlohmann::json::parse(value).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception &error) {
    throw Error("--stop: '" + value + "' starts with '[' but is not a JSON list of strings: " + error.what());
  }
}

namespace {

// The text of --prompt or --prompt-file.
std::string promptText(const rt::CommandLine &args) {
  if (args.has("--prompt"))
    return args.value("--prompt", "");
  std::string path = args.value("--prompt-file", "");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("--prompt-file " + path + ": cannot open the file");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The conversation: --messages' file, or --system and the prompt text as a
// system and a user message.
rt::Conversation conversation(const rt::CommandLine &args) {
  if (args.has("--messages"))
    return rt::readConversation(args.value("--messages", ""));
  rt::Conversation chat;
  chat.messages = nlohmann::ordered_json::array();
  if (args.has("--system"))
    chat.messages.push_back({{"role", "system"}, {"content", args.value("--system", "")}});
  chat.messages.push_back({{"role", "user"}, {"content", promptText(args)}});
  return chat;
}

// One prompt per ';'-separated list.
std::vector<std::vector<int32_t>> parsePrompts(const std::string &text) {
  std::vector<std::vector<int32_t>> prompts;
  for (const std::string &list : rt::splitList(text, ';'))
    prompts.push_back(rt::parseTokenIds(list, "--prompt-ids"));
  return prompts;
}

} // namespace

std::vector<std::vector<int32_t>> readPrompts(const rt::CommandLine &args, const std::string &modelDir,
                                              const rt::Tokenizer *tokenizer) {
  int given = 0;
  for (const char *flag : {"--prompt", "--prompt-file", "--prompt-ids", "--messages"})
    given += int(args.has(flag));
  if (given != 1)
    throw Error("give exactly one of --prompt, --prompt-file, --prompt-ids and --messages");
  bool chat = args.has("--chat") || args.has("--messages");
  if (args.has("--chat") && args.has("--prompt-ids"))
    throw Error("--chat renders a text prompt through the chat template: give --prompt or --prompt-file, "
                "or the whole conversation with --messages");
  if (args.has("--system") && !(args.has("--chat") && !args.has("--messages")))
    throw Error("--system adds a system message to the --chat prompt: use it with --chat and --prompt or "
                "--prompt-file (with --messages, put it in the list)");
  if (!hasTextPrompt(args))
    return parsePrompts(args.value("--prompt-ids", ""));
  std::vector<int32_t> ids;
  if (chat) {
    rt::Conversation chat = conversation(args);
    std::string text = rt::ChatTemplate::fromModelDir(modelDir).render(chat.messages, true, chat.variables);
    ids = tokenizer->encode(text, /*addSpecialTokens=*/false);
  } else {
    ids = tokenizer->encode(promptText(args));
  }
  if (ids.empty())
    throw Error("the prompt is empty: it has no tokens (and the tokenizer adds no BOS)");
  return {ids};
}
