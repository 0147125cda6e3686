#include "ember/runtime/Tokenizer.h"

#include "TokenizerText.h"

#include "ember/model/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <variant>

namespace ember::rt {

using nlohmann::json;
using namespace tokenizer;

namespace {

// GPT-2's pre-tokenization regex: what ByteLevel with use_regex splits by.
constexpr const char *kByteLevelPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct AddedToken {
  std::string content;
  int32_t id;
  bool special, lstrip, rstrip;
};

struct ByteLevelStep {
  bool addPrefixSpace;
  std::optional<Regex> split; // GPT-2's regex when use_regex
};
using PreTokenizerStep = std::variant<Regex, ByteLevelStep>;

// One per process: every tokenizer maps bytes the same way.
const ByteAlphabet &theByteAlphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

} // namespace

struct Tokenizer::Impl {
  std::string path;
  std::vector<AddedToken> added;
  std::unordered_map<int32_t, const AddedToken *> byId; // added tokens by id
  // Added tokens by content, and their distinct lengths, longest first: a
  // position costs a lookup per length, however many tokens there are
  // (ember-synth's vocabularies reserve thousands).
  std::unordered_map<std::string_view, const AddedToken *> byContent;
  std::vector<size_t> addedLengths;
  std::vector<PreTokenizerStep> steps;
  BpeModel model;
  std::vector<std::string> tokens; // id -> vocabulary string ("" for gaps and added tokens)
  std::vector<int32_t> prefix, suffix;

  [[noreturn]] void fail(const std::string &message) const { throw Error(path + ": " + message); }
  int32_t tokenId(const json &value, const std::string &where) const;

  void readModel(const json &model);
  void readAddedTokens(const json &list);
  void readPreTokenizer(const json &step, const std::string &where);
  void readPostProcessor(const json &processor);
  void checkNormalizerAndDecoder(const json &file);

  void encodeText(std::string_view text, std::vector<int32_t> &ids) const;
};

// Ids index tables ember sizes by the largest: bounded as config.json's
// vocab_size is.
constexpr int64_t kMaxTokenId = (int64_t(1) << 24) - 1;

int32_t Tokenizer::Impl::tokenId(const json &value, const std::string &where) const {
  bool inRange = value.is_number_unsigned()
                     ? value.get<uint64_t>() <= uint64_t(kMaxTokenId)
                     : value.is_number_integer() && value.get<int64_t>() >= 0 && value.get<int64_t>() <= kMaxTokenId;
  if (!inRange)
    fail(where + ": expected a token id, an integer in [0, " + std::to_string(kMaxTokenId) + "], got " + value.dump());
  return int32_t(value.get<int64_t>());
}

void Tokenizer::Impl::readModel(const json &m) {
  if (m.value("type", "") != "BPE")
    fail("model.type '" + m.value("type", std::string("(none)")) + "' is not supported (ember reads BPE models)");
  for (const char *unsupported : {"dropout", "continuing_subword_prefix", "end_of_word_suffix"})
    if (m.contains(unsupported) && !m[unsupported].is_null() && m[unsupported] != "")
      fail(std::string("model.") + unsupported + " is not supported (got " + m[unsupported].dump() + ")");
  if (m.value("byte_fallback", false))
    fail("model.byte_fallback is not supported (ember reads byte-level BPE)");
  model.ignoreMerges = m.value("ignore_merges", false);
  for (const auto &[token, id] : m.at("vocab").items()) {
    int32_t value = tokenId(id, "model.vocab['" + token + "']");
    model.vocab[token] = value;
    if (size_t(value) >= tokens.size())
      tokens.resize(size_t(value) + 1);
    tokens[size_t(value)] = token;
  }
  int32_t rank = 0;
  for (const json &entry : m.at("merges")) {
    std::string left, right;
    if (entry.is_string()) { // "left right"
      const std::string &text = entry.get_ref<const std::string &>();
      size_t space = text.find(' ');
      if (space == std::string::npos)
        fail("model.merges[" + std::to_string(rank) + "]: '" + text + "' is not two tokens separated by a space");
      left = text.substr(0, space), right = text.substr(space + 1);
    } else {
      left = entry.at(0).get<std::string>(), right = entry.at(1).get<std::string>();
    }
    model.ranks.emplace(left + '\x01' + right, rank++);
  }
  if (m.contains("unk_token") && m["unk_token"].is_string()) {
    auto found = model.vocab.find(m["unk_token"].get<std::string>());
    if (found == model.vocab.end())
      fail("model.unk_token '" + m["unk_token"].get<std::string>() + "' is not in the vocabulary");
    model.unknown = found->second;
  }
}

void Tokenizer::Impl::readAddedTokens(const json &list) {
  for (const json &entry : list) {
    AddedToken token{entry.at("content").get<std::string>(), tokenId(entry.at("id"), "added_tokens"),
                     entry.value("special", false), entry.value("lstrip", false), entry.value("rstrip", false)};
    if (entry.value("single_word", false))
      fail("added token '" + token.content + "': single_word is not supported");
    if (token.content.empty())
      fail("added token " + entry.dump() + ": its content is empty");
    added.push_back(token);
  }
  std::set<size_t, std::greater<>> lengths;
  for (const AddedToken &token : added) {
    byId[token.id] = &token;
    byContent.emplace(token.content, &token);
    lengths.insert(token.content.size());
    if (size_t(token.id) >= tokens.size())
      tokens.resize(size_t(token.id) + 1);
  }
  addedLengths.assign(lengths.begin(), lengths.end());
}

void Tokenizer::Impl::readPreTokenizer(const json &step, const std::string &where) {
  std::string type = step.value("type", "");
  bool afterByteLevel = !steps.empty() && std::holds_alternative<ByteLevelStep>(steps.back());
  if (afterByteLevel)
    fail(where + ": a " + type + " step after ByteLevel is not supported");
  if (type == "Sequence") {
    for (size_t i = 0; i < step.at("pretokenizers").size(); ++i)
      readPreTokenizer(step["pretokenizers"][i], where + ".pretokenizers[" + std::to_string(i) + "]");
  } else if (type == "ByteLevel") {
    ByteLevelStep byteLevel{step.value("add_prefix_space", false), std::nullopt};
    if (step.value("use_regex", true))
      byteLevel.split.emplace(kByteLevelPattern, path);
    steps.emplace_back(std::move(byteLevel));
  } else if (type == "Split") {
    if (step.value("behavior", "") != "Isolated" || step.value("invert", false))
      fail(where + ": Split with behavior '" + step.value("behavior", "") + "'" +
           (step.value("invert", false) ? " and invert" : "") + " is not supported (only Isolated)");
    const json &pattern = step.at("pattern");
    std::string regex = pattern.contains("Regex") ? pattern["Regex"].get<std::string>() : "";
    if (!pattern.contains("Regex"))
      fail(where + ": Split on a String pattern is not supported (only Regex)");
    steps.emplace_back(Regex(regex, path + ": " + where));
  } else if (type == "Digits") {
    steps.emplace_back(Regex(step.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)", path));
  } else {
    fail(where + ": type '" + type + "' is not supported (ember reads ByteLevel, Split, Digits and Sequence)");
  }
}

void Tokenizer::Impl::readPostProcessor(const json &processor) {
  std::string type = processor.value("type", "");
  if (type == "Sequence") {
    for (const json &inner : processor.at("processors"))
      readPostProcessor(inner);
  } else if (type == "TemplateProcessing") {
    bool sequenceSeen = false;
    for (const json &item : processor.at("single")) {
      if (item.contains("Sequence")) {
        sequenceSeen = true;
        continue;
      }
      std::string name = item.at("SpecialToken").at("id").get<std::string>();
      const json &special = processor.at("special_tokens");
      if (!special.contains(name))
        fail("post_processor: special token '" + name + "' is not in its special_tokens");
      for (const json &id : special[name].at("ids"))
        (sequenceSeen ? suffix : prefix).push_back(tokenId(id, "post_processor.special_tokens"));
    }
  } else if (type != "ByteLevel") {
    fail("post_processor.type '" + type + "' is not supported (ember reads TemplateProcessing, ByteLevel, Sequence)");
  }
}

void Tokenizer::Impl::checkNormalizerAndDecoder(const json &file) {
  const json &normalizer = file.value("normalizer", json());
  bool emptySequence = normalizer.is_object() && normalizer.value("type", "") == "Sequence" &&
                       normalizer.value("normalizers", json::array()).empty();
  if (!normalizer.is_null() && !emptySequence)
    fail("normalizer.type '" + normalizer.value("type", std::string("?")) +
         "' is not supported (byte-level BPE tokenizers have none)");
  const json &decoder = file.value("decoder", json());
  bool byteLevel = decoder.is_object() &&
                   (decoder.value("type", "") == "ByteLevel" ||
                    (decoder.value("type", "") == "Sequence" && decoder.value("decoders", json::array()).size() == 1 &&
                     decoder["decoders"][0].value("type", "") == "ByteLevel"));
  if (!byteLevel)
    fail("decoder " + decoder.dump() + " is not supported (ember decodes with ByteLevel)");
  bool hasByteLevel = std::any_of(steps.begin(), steps.end(),
                                  [](const PreTokenizerStep &s) { return std::holds_alternative<ByteLevelStep>(s); });
  if (!hasByteLevel)
    fail("pre_tokenizer has no ByteLevel step: ember reads byte-level BPE tokenizers only");
}

void Tokenizer::Impl::encodeText(std::string_view text, std::vector<int32_t> &ids) const {
  std::vector<std::string> pieces{std::string(text)}, next;
  for (const PreTokenizerStep &step : steps) {
    next.clear();
    if (const auto *regex = std::get_if<Regex>(&step)) {
      for (const std::string &piece : pieces)
        regex->splitIsolated(piece, next);
    } else {
      const auto &byteLevel = std::get<ByteLevelStep>(step);
      for (std::string &piece : pieces) {
        if (byteLevel.addPrefixSpace && piece[0] != ' ')
          piece.insert(piece.begin(), ' ');
        std::vector<std::string> words;
        if (byteLevel.split)
          byteLevel.split->splitIsolated(piece, words);
        else
          words.push_back(std::move(piece));
        for (const std::string &word : words)
          next.push_back(theByteAlphabet().encode(word));
      }
    }
    pieces.swap(next);
  }
  for (const std::string &word : pieces)
    model.encodeWord(word, ids);
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer &&) noexcept = default;
Tokenizer &Tokenizer::operator=(Tokenizer &&) noexcept = default;

Tokenizer Tokenizer::load(const std::string &path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(path + ": cannot open the tokenizer file");
  json file;
  try {
    file = json::parse(in);
    impl->readModel(file.at("model"));
    impl->readAddedTokens(file.value("added_tokens", json::array()));
    if (file.contains("pre_tokenizer") && !file["pre_tokenizer"].is_null())
      impl->readPreTokenizer(file["pre_tokenizer"], "pre_tokenizer");
    if (file.contains("post_processor") && !file["post_processor"].is_null())
      impl->readPostProcessor(file["post_processor"]);
    impl->checkNormalizerAndDecoder(file);
  } catch (const json::exception &error) {
    throw Error(path + ": not a tokenizer.json ember can read: " + error.what());
  }
  for (const std::vector<int32_t> *ids : {&impl->prefix, &impl->suffix})
    for (int32_t id : *ids) // in [0, 2^24) already (tokenId)
      if (size_t(id) >= impl->tokens.size())
        impl->fail("post_processor adds id " + std::to_string(id) + ", which is not in the vocabulary");
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool addSpecialTokens) const {
  if (size_t bad = invalidUtf8Offset(text); bad != std::string_view::npos)
    throw Error("the text is not valid UTF-8: byte " + std::to_string(bad) + " (0x" +
                "0123456789abcdef"[uint8_t(text[bad]) >> 4] + "0123456789abcdef"[uint8_t(text[bad]) & 15] + ")");
  const Impl &impl = *impl_;
  std::vector<int32_t> ids;
  if (addSpecialTokens)
    ids = impl.prefix;
  // Added tokens first, leftmost and then longest; the text between them
  // goes through the pre-tokenizer and the model.
  size_t spanBegin = 0;
  for (size_t at = 0; at < text.size();) {
    const AddedToken *match = nullptr;
    for (size_t length : impl.addedLengths) {
      auto found = length <= text.size() - at ? impl.byContent.find(text.substr(at, length)) : impl.byContent.end();
      if (found != impl.byContent.end()) {
        match = found->second;
        break;
      }
    }
    if (!match) {
      ++at;
      continue;
    }
    size_t begin = at, end = at + match->content.size();
    if (match->lstrip)
      while (begin > spanBegin && isSpace(text[begin - 1]))
        --begin;
    if (match->rstrip)
      while (end < text.size() && isSpace(text[end]))
        ++end;
    if (begin > spanBegin)
      impl.encodeText(text.substr(spanBegin, begin - spanBegin), ids);
    ids.push_back(match->id);
    spanBegin = at = end;
  }
  if (spanBegin < text.size())
    impl.encodeText(text.substr(spanBegin), ids);
  if (addSpecialTokens)
    ids.insert(ids.end(), impl.suffix.begin(), impl.suffix.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t> &ids, bool skipSpecialTokens) const {
  const Impl &impl = *impl_;
  std::string text;
  for (int32_t id : ids) {
    if (id < 0 || id >= size())
      throw Error(impl.path + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                  std::to_string(size()) + ")");
    auto added = impl.byId.find(id);
    if (added != impl.byId.end()) {
      if (!(skipSpecialTokens && added->second->special))
        text += theByteAlphabet().decode(added->second->content);
      continue;
    }
    if (impl.tokens[size_t(id)].empty())
      throw Error(impl.path + ": token id " + std::to_string(id) + " has no entry in the vocabulary");
    text += theByteAlphabet().decode(impl.tokens[size_t(id)]);
  }
  return text;
}

int64_t Tokenizer::size() const { return int64_t(impl_->tokens.size()); }

const std::string &Tokenizer::path() const { return impl_->path; }

const std::array<std::string, 256> &byteLevelAlphabet() { return theByteAlphabet().characters(); }

std::string TextStream::push(int32_t token) {
  if (stopped_)
    return "";
  pending_ += tokenizer_.decode({token}, skipSpecialTokens_);
  // The first stop string in list order, as Generate's stop rule and the
  // reported text take it.
  for (const std::string &stop : stopStrings_)
    if (size_t at = pending_.find(stop); at != std::string::npos) {
      stopped_ = true;
      return std::exchange(pending_, std::string()).substr(0, at);
    }
  size_t ready = std::min(completeUtf8Prefix(pending_), pending_.size() - stopPrefixLength());
  std::string text = pending_.substr(0, ready);
  pending_.erase(0, ready);
  return text;
}

size_t TextStream::stopPrefixLength() const {
  size_t longest = 0;
  for (const std::string &stop : stopStrings_)
    for (size_t length = std::min(stop.size(), pending_.size() + 1) - 1; length > longest; --length)
      if (pending_.compare(pending_.size() - length, length, stop, 0, length) == 0) {
        longest = length;
        break;
      }
  return longest;
}

std::string TextStream::finish() { return std::exchange(pending_, std::string()); }

} // namespace ember::rt
