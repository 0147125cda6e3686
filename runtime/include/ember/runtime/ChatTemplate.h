#pragma once

// A model's chat template: the Jinja text HF transformers renders in
// tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=...).
// ember's own small Jinja engine covers what chat templates use (statements
// if/for/set/macro/with, loop controls, namespace(), the common filters,
// tests and str/dict methods); a construct it does not know is refused with
// an error naming where it is, never rendered differently.

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace ember::rt {

// A Jinja chat template, rendered as HF transformers' apply_chat_template does
// (trim_blocks, lstrip_blocks, raise_exception, tojson, loop controls).
class ChatTemplate {
public:
  // Parses `source`; `origin` names it in every error (e.g. "DIR/tokenizer_config.json's chat_template").
  // Throws ember::Error (ember/model/Error.h) with origin:line:column on a syntax error or a construct the engine does
  // not support.
  ChatTemplate(const std::string &source, std::string origin);
  // A model folder's template: DIR/chat_template.jinja when present (as newer transformers save it), else
  // DIR/tokenizer_config.json's "chat_template" (a string, or a list of {"name","template"}: the one named
  // "default"). The special tokens (bos_token, eos_token, unk_token, sep_token, pad_token, cls_token,
  // mask_token: a string or an object with "content"; additional_special_tokens: a list) of
  // tokenizer_config.json, overridden by special_tokens_map.json's as transformers loads them, become template
  // variables when set and non-empty (transformers' special_tokens_map).
  // Throws ember::Error naming the folder when it has no chat template, or naming a malformed file or field.
  static ChatTemplate fromModelDir(const std::string &dir);

  // Renders with the variables transformers passes: messages, add_generation_prompt, tools and documents
  // (None), the special tokens; then `variables` (a JSON object) overriding them.
  // `messages` must be a JSON array of objects each with a string "role" (the error names the index).
  // Throws ember::Error "<origin>:<line>:<column>: ..." on raise_exception(msg) (with msg) or a runtime error.
  std::string render(const nlohmann::ordered_json &messages, bool addGenerationPrompt,
                     const nlohmann::ordered_json &variables = nlohmann::ordered_json::object()) const;

  const std::string &origin() const;

  ~ChatTemplate();
  ChatTemplate(const ChatTemplate &);
  ChatTemplate &operator=(const ChatTemplate &);
  ChatTemplate(ChatTemplate &&) noexcept;
  ChatTemplate &operator=(ChatTemplate &&) noexcept;

private:
  struct Impl;
  std::shared_ptr<const Impl> impl;
};

// A conversation file: a JSON list of messages (OpenAI's {"role",
// "content"} form), or an object with "messages" and more template
// variables (e.g. "tools"). Errors name the file.
struct Conversation {
  nlohmann::ordered_json messages;
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();
};
Conversation readConversation(const std::string &path);

} // namespace ember::rt
