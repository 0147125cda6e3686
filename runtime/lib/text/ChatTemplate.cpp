// ChatTemplate: a model folder's chat template and the variables HF
// transformers renders it with (apply_chat_template).

#include "ember/runtime/ChatTemplate.h"

#include "ChatTemplateAst.h"

#include "ember/model/Error.h"
#include "ember/model/Parsing.h"

#include <filesystem>

namespace ember::rt {

using chat::Value;

struct ChatTemplate::Impl {
  std::string origin;
  std::shared_ptr<const chat::Body> body; // shared by the copies that add special tokens
  nlohmann::ordered_json specialTokens = nlohmann::ordered_json::object();
};

namespace {

nlohmann::ordered_json readJsonObject(const std::filesystem::path &path) {
  nlohmann::ordered_json json = readJsonFile<nlohmann::ordered_json>(path.string());
  if (!json.is_object())
    throw Error(path.string() + ": expected a JSON object, got " + json.type_name());
  return json;
}

// The special tokens of a tokenizer_config.json or special_tokens_map.json
// that transformers' special_tokens_map holds: set, non-empty strings (or
// AddedToken objects' "content"), and a list of additional ones.
void collectSpecialTokens(const nlohmann::ordered_json &config, const std::string &file,
                          nlohmann::ordered_json &tokens) {
  static const char *const kNames[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                       "pad_token", "cls_token", "mask_token"};
  auto content = [&](const nlohmann::ordered_json &value, const std::string &field) -> std::string {
    if (value.is_string())
      return value.get<std::string>();
    if (value.is_object() && value.contains("content") && value["content"].is_string())
      return value["content"].get<std::string>();
    throw Error(file + ": field '" + field + "' must be a string, null or an object with a string \"content\", got " +
                value.dump());
  };
  for (const char *name : kNames) {
    if (!config.contains(name) || config[name].is_null())
      continue;
    std::string token = content(config[name], name);
    if (!token.empty())
      tokens[name] = token;
  }
  if (config.contains("additional_special_tokens") && !config["additional_special_tokens"].is_null()) {
    const nlohmann::ordered_json &list = config["additional_special_tokens"];
    if (!list.is_array())
      throw Error(file + ": field 'additional_special_tokens' must be a list, got " + list.dump());
    nlohmann::ordered_json strings = nlohmann::ordered_json::array();
    for (const auto &item : list)
      strings.push_back(content(item, "additional_special_tokens"));
    if (!strings.empty())
      tokens["additional_special_tokens"] = strings;
  }
}

std::string templateFromConfig(const nlohmann::ordered_json &field, const std::string &file) {
  if (field.is_string())
    return field.get<std::string>();
  if (!field.is_array())
    throw Error(file + ": field 'chat_template' must be a string or a list of {\"name\", \"template\"}, got " +
                std::string(field.type_name()));
  std::string names;
  for (const auto &entry : field) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("template") ||
        !entry["template"].is_string())
      throw Error(file + ": field 'chat_template' must list objects with string \"name\" and \"template\", got " +
                  entry.dump());
    if (entry["name"] == "default")
      return entry["template"].get<std::string>();
    names += (names.empty() ? "'" : ", '") + entry["name"].get<std::string>() + "'";
  }
  throw Error(file + ": field 'chat_template' has no template named 'default' (it has " +
              (names.empty() ? std::string("none") : names) + ")");
}

Value messagesValue(const nlohmann::ordered_json &messages, const std::string &origin) {
  if (!messages.is_array())
    throw Error(origin + ": messages must be a JSON array of {\"role\", \"content\"} objects, got " +
                std::string(messages.type_name()));
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::ordered_json &message = messages[i];
    if (!message.is_object())
      throw Error(origin + ": messages[" + std::to_string(i) + "] must be an object, got " +
                  std::string(message.type_name()));
    if (!message.contains("role") || !message["role"].is_string())
      throw Error(origin + ": messages[" + std::to_string(i) + "] has no string \"role\"");
  }
  return chat::fromJson(messages);
}

} // namespace

ChatTemplate::ChatTemplate(const std::string &source, std::string origin) {
  auto impl = std::make_shared<Impl>();
  impl->body = std::make_shared<const chat::Body>(chat::parseTemplate(source, origin));
  impl->origin = std::move(origin);
  this->impl = std::move(impl);
}

ChatTemplate ChatTemplate::fromModelDir(const std::string &dir) {
  std::filesystem::path folder(dir);
  std::filesystem::path configPath = folder / "tokenizer_config.json", mapPath = folder / "special_tokens_map.json";
  std::filesystem::path jinjaPath = folder / "chat_template.jinja";
  bool hasConfig = std::filesystem::exists(configPath);
  nlohmann::ordered_json config = hasConfig ? readJsonObject(configPath) : nlohmann::ordered_json::object();

  std::optional<ChatTemplate> parsed;
  if (std::filesystem::exists(jinjaPath)) {
    parsed.emplace(ember::readFile(jinjaPath.string()), jinjaPath.string());
  } else if (config.contains("chat_template") && !config["chat_template"].is_null()) {
    parsed.emplace(templateFromConfig(config["chat_template"], configPath.string()),
                   configPath.string() + "'s chat_template");
  } else {
    throw Error(dir +
                ": the model folder has no chat template (neither chat_template.jinja nor a \"chat_template\" in " +
                (hasConfig ? "tokenizer_config.json" : "a tokenizer_config.json, which it lacks") + ")");
  }
  auto impl = std::make_shared<Impl>(*parsed->impl);
  collectSpecialTokens(config, configPath.string(), impl->specialTokens);
  // transformers lets special_tokens_map.json's tokens override the config's.
  if (std::filesystem::exists(mapPath))
    collectSpecialTokens(readJsonObject(mapPath), mapPath.string(), impl->specialTokens);
  parsed->impl = std::move(impl);
  return std::move(*parsed);
}

std::string ChatTemplate::render(const nlohmann::ordered_json &messages, bool addGenerationPrompt,
                                 const nlohmann::ordered_json &variables) const {
  const std::string &origin = impl->origin;
  if (!variables.is_object())
    throw Error(origin + ": the template variables must be a JSON object, got " + std::string(variables.type_name()));
  try {
    chat::Dict scope;
    chat::addGlobals(scope);
    scope.set(Value::of("messages"), messagesValue(messages, origin));
    scope.set(Value::of("tools"), Value::none());
    scope.set(Value::of("documents"), Value::none());
    scope.set(Value::of("add_generation_prompt"), Value::of(addGenerationPrompt));
    for (const auto &[name, value] : impl->specialTokens.items())
      scope.set(Value::of(name), chat::fromJson(value));
    for (const auto &[name, value] : variables.items())
      scope.set(Value::of(name), chat::fromJson(value));
    return chat::renderBody(*impl->body, scope);
  } catch (const chat::Failure &failure) {
    std::string where = failure.line ? ":" + std::to_string(failure.line) + ":" + std::to_string(failure.column) : "";
    throw Error(origin + where + ": " + (failure.raised ? "raise_exception: " : "") + failure.message);
  }
}

const std::string &ChatTemplate::origin() const { return impl->origin; }

Conversation readConversation(const std::string &path) {
  nlohmann::ordered_json json = readJsonFile<nlohmann::ordered_json>(path);
  Conversation conversation;
  if (json.is_object()) {
    if (!json.contains("messages"))
      throw Error(path + ": an object must hold \"messages\" (and may hold more template variables)");
    conversation.messages = json["messages"];
    json.erase("messages");
    conversation.variables = std::move(json);
  } else {
    conversation.messages = std::move(json);
  }
  if (!conversation.messages.is_array())
    throw Error(path + ": expected a JSON list of messages ({\"role\": ..., \"content\": ...}), got " +
                conversation.messages.dump().substr(0, 80));
  return conversation;
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(const ChatTemplate &) = default;
ChatTemplate &ChatTemplate::operator=(const ChatTemplate &) = default;
ChatTemplate::ChatTemplate(ChatTemplate &&) noexcept = default;
ChatTemplate &ChatTemplate::operator=(ChatTemplate &&) noexcept = default;

} // namespace ember::rt
