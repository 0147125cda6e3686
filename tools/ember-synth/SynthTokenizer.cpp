#include "SynthTokenizer.h"

#include "ember/model/Error.h"
#include "ember/runtime/Tokenizer.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace ember::synth {

namespace {

// What the merges are learned from: common English, so prompts in English
// take fewer tokens than bytes.
constexpr const char *kTrainingText =
    "The model reads the prompt and writes the next word. It is a mixture of experts: every token goes to a "
    "few of many experts, and some of them are zero experts that cost nothing. The n-gram embedding looks up "
    "hashed tables of the tokens that came before. This is a small test of the text that people write, with "
    "questions and answers, stories and code. Where is the station? How are you today? I would like to know "
    "what this is, and why it works the way it does. Thank you for the answer; it was very helpful. Then "
    "they went to the house, and there was nothing in the room but a table and two chairs. We will see what "
    "happens when the weather changes in the morning or in the evening.";

// Words of the training text (a space joins the word after it, as GPT-2's
// pre-tokenizer splits) as symbol sequences, with their counts.
std::map<std::vector<std::string>, int> trainingWords(const std::array<std::string, 256> &characters) {
  std::map<std::vector<std::string>, int> words;
  std::string text = kTrainingText;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find(' ', begin + 1);
    end = end == std::string::npos ? text.size() : end;
    std::vector<std::string> symbols;
    for (size_t i = begin; i < end; ++i)
      symbols.push_back(characters[uint8_t(text[i])]);
    ++words[symbols];
    begin = end;
  }
  return words;
}

} // namespace

// The special tokens' contents by id: "<s>" for BOS, "</s>", "</s2>", ...
// for the EOS ids.
std::map<int64_t, std::string> specialTokens(const ember::ModelConfig &config) {
  std::map<int64_t, std::string> special{{config.bosTokenId, "<s>"}};
  std::vector<int64_t> eosIds{config.eosTokenId};
  eosIds.insert(eosIds.end(), config.moreEosTokenIds.begin(), config.moreEosTokenIds.end());
  for (int64_t eos : eosIds)
    if (!special.count(eos))
      special[eos] = special.size() == 1 ? "</s>" : "</s" + std::to_string(special.size() - 1) + ">";
  return special;
}

// ember's own chat format: numbered rounds of "USER:" and "ASSISTANT:"
// turns after an optional system message, each assistant turn closed by EOS.
constexpr const char *kChatTemplate = R"({{- bos_token -}}
{%- set ns = namespace(round=0) -%}
{%- for message in messages -%}
  {%- if message['role'] == 'system' -%}
    {%- if not loop.first -%}{{- raise_exception('the system message must come first') -}}{%- endif -%}
    {{- 'SYSTEM:' + message['content'] | trim + '
' -}}
  {%- elif message['role'] == 'user' -%}
    {{- '[Round ' ~ ns.round ~ '] USER:' + message['content'] -}}
  {%- elif message['role'] == 'assistant' -%}
    {{- ' ASSISTANT:' + message['content'] + eos_token -}}
    {%- set ns.round = ns.round + 1 -%}
  {%- else -%}
    {{- raise_exception('unknown role ' ~ message['role'] ~ ' in message ' ~ loop.index0) -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}{{- ' ASSISTANT:' -}}{%- endif -%})";

nlohmann::ordered_json synthTokenizerConfig(const ember::ModelConfig &config) {
  std::map<int64_t, std::string> special = specialTokens(config);
  return {{"tokenizer_class", "PreTrainedTokenizerFast"},
          {"bos_token", special.at(config.bosTokenId)},
          {"eos_token", special.at(config.eosTokenId)},
          {"model_max_length", config.maxPositionEmbeddings},
          {"chat_template", kChatTemplate}};
}

nlohmann::ordered_json synthTokenizer(const ember::ModelConfig &config) {
  int64_t vocab = config.vocabSize;
  std::map<int64_t, std::string> special = specialTokens(config);
  if (vocab < 256 + int64_t(special.size()))
    throw ember::Error("vocab_size " + std::to_string(vocab) +
                    " cannot hold a byte-level tokenizer: it needs the 256 "
                    "bytes and " +
                    std::to_string(special.size()) + " special tokens");

  const std::array<std::string, 256> &characters = rt::byteLevelAlphabet();
  std::vector<std::string> tokens; // in id order, special ids skipped
  for (const std::string &character : characters)
    tokens.push_back(character);
  nlohmann::ordered_json merges = nlohmann::ordered_json::array();
  std::map<std::vector<std::string>, int> words = trainingWords(characters);
  int64_t room = vocab - int64_t(special.size());
  while (int64_t(tokens.size()) < room) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto &[symbols, count] : words)
      for (size_t i = 0; i + 1 < symbols.size(); ++i)
        pairs[{symbols[i], symbols[i + 1]}] += count;
    if (pairs.empty())
      break;
    auto best = pairs.begin(); // the most frequent, the first in order on ties
    for (auto pair = pairs.begin(); pair != pairs.end(); ++pair)
      if (pair->second > best->second)
        best = pair;
    auto [left, right] = best->first;
    merges.push_back({left, right});
    tokens.push_back(left + right);
    std::map<std::vector<std::string>, int> merged;
    for (const auto &[symbols, count] : words) {
      std::vector<std::string> next;
      for (size_t i = 0; i < symbols.size(); ++i)
        if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right)
          next.push_back(left + right), ++i;
        else
          next.push_back(symbols[i]);
      merged[next] += count;
    }
    words.swap(merged);
  }

  nlohmann::ordered_json vocabJson = nlohmann::ordered_json::object(), added = nlohmann::ordered_json::array();
  size_t next = 0;
  for (int64_t id = 0; id < vocab; ++id) {
    auto found = special.find(id);
    std::string reserved = "<|reserved_" + std::to_string(id) + "|>";
    if (found == special.end() && next < tokens.size()) {
      vocabJson[tokens[next++]] = id;
      continue;
    }
    const std::string &content = found != special.end() ? found->second : reserved;
    vocabJson[content] = id;
    added.push_back({{"id", id},
                     {"content", content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  nlohmann::ordered_json byteLevel = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", byteLevel},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"pair",
             {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {config.bosTokenId}}, {"tokens", {"<s>"}}}}}}}},
          {"decoder", byteLevel},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocabJson},
            {"merges", merges}}}};
}

} // namespace ember::synth
