#include "TokenizerText.h"

#include "ember/model/Error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>
#include <queue>
#include <tuple>

namespace ember::rt::tokenizer {

namespace {

// Length of the UTF-8 sequence `lead` starts, 0 if it cannot start one.
size_t sequenceLength(uint8_t lead) {
  if (lead < 0x80)
    return 1;
  if (lead >= 0xC2 && lead <= 0xDF)
    return 2;
  if (lead >= 0xE0 && lead <= 0xEF)
    return 3;
  if (lead >= 0xF0 && lead <= 0xF4)
    return 4;
  return 0;
}

void appendUtf8(std::string &out, uint32_t code) {
  if (code < 0x80) {
    out += char(code);
  } else if (code < 0x800) {
    out += char(0xC0 | (code >> 6));
    out += char(0x80 | (code & 0x3F));
  } else {
    out += char(0xE0 | (code >> 12));
    out += char(0x80 | ((code >> 6) & 0x3F));
    out += char(0x80 | (code & 0x3F));
  }
}

// The code point at `text[at]` (valid UTF-8), and its length.
std::pair<uint32_t, size_t> codePointAt(std::string_view text, size_t at) {
  auto byte = [&](size_t i) { return uint8_t(text[at + i]); };
  size_t length = sequenceLength(byte(0));
  if (length <= 1)
    return {byte(0), 1};
  uint32_t code = byte(0) & (0x7F >> length);
  for (size_t i = 1; i < length; ++i)
    code = (code << 6) | (byte(i) & 0x3F);
  return {code, length};
}

} // namespace

size_t invalidUtf8Offset(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    auto lead = uint8_t(text[at]);
    size_t length = sequenceLength(lead);
    if (length == 0 || at + length > text.size())
      return at;
    for (size_t i = 1; i < length; ++i)
      if ((uint8_t(text[at + i]) & 0xC0) != 0x80)
        return at;
    // Overlong three- and four-byte forms, surrogates, beyond U+10FFFF.
    auto second = uint8_t(length > 1 ? text[at + 1] : 0);
    if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) || (lead == 0xF0 && second < 0x90) ||
        (lead == 0xF4 && second > 0x8F))
      return at;
    at += length;
  }
  return std::string_view::npos;
}

size_t completeUtf8Prefix(std::string_view bytes) {
  size_t begin = bytes.size();
  for (size_t back = 1; back <= std::min<size_t>(3, bytes.size()); ++back) {
    auto byte = uint8_t(bytes[bytes.size() - back]);
    if ((byte & 0xC0) == 0x80)
      continue; // a continuation byte: look further back for its lead
    size_t length = sequenceLength(byte);
    if (length > back)
      begin = bytes.size() - back;
    break;
  }
  return begin;
}

ByteAlphabet::ByteAlphabet() {
  // Printable Latin-1 bytes stand for themselves; the others, in order,
  // for U+0100 onwards (GPT-2's bytes_to_unicode).
  auto printable = [](int byte) {
    return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
  };
  uint32_t next = 256;
  for (int byte = 0; byte < 256; ++byte) {
    uint32_t code = printable(byte) ? uint32_t(byte) : next++;
    appendUtf8(characters_[byte], code);
    bytes_[code] = uint8_t(byte);
  }
}

std::string ByteAlphabet::encode(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char byte : bytes)
    out += characters_[uint8_t(byte)];
  return out;
}

std::string ByteAlphabet::decode(std::string_view token) const {
  std::string out;
  for (size_t at = 0; at < token.size();) {
    auto [code, length] = codePointAt(token, at);
    auto found = bytes_.find(code);
    if (found == bytes_.end())
      return std::string(token);
    out += char(found->second);
    at += length;
  }
  return out;
}

Regex::Regex(const std::string &pattern, const std::string &where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &error,
                        &offset, nullptr);
  if (!code_) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw Error(where + ": the regex '" + pattern + "' does not compile (PCRE2, at offset " + std::to_string(offset) +
                "): " + reinterpret_cast<const char *>(message));
  }
  pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE); // where JIT is missing, matching is only slower
}

Regex::~Regex() { pcre2_code_free(code_); }

Regex::Regex(Regex &&other) noexcept : code_(std::exchange(other.code_, nullptr)) {}

void Regex::splitIsolated(std::string_view text, std::vector<std::string> &pieces) const {
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data *)> match(
      pcre2_match_data_create_from_pattern(code_, nullptr), pcre2_match_data_free);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t gap = 0, at = 0;
  while (at < text.size()) {
    int found = pcre2_match(code_, subject, text.size(), at, PCRE2_NO_UTF_CHECK, match.get(), nullptr);
    if (found == PCRE2_ERROR_NOMATCH)
      break;
    if (found < 0)
      throw Error("tokenizer regex: matching failed (PCRE2 error " + std::to_string(found) + ")");
    const PCRE2_SIZE *bounds = pcre2_get_ovector_pointer(match.get());
    if (bounds[0] == bounds[1]) { // empty: no piece, step one character
      if (bounds[1] >= text.size())
        break;
      at = bounds[1] + codePointAt(text, bounds[1]).second;
      continue;
    }
    if (bounds[0] > gap)
      pieces.emplace_back(text.substr(gap, bounds[0] - gap));
    pieces.emplace_back(text.substr(bounds[0], bounds[1] - bounds[0]));
    gap = at = bounds[1];
  }
  if (gap < text.size())
    pieces.emplace_back(text.substr(gap));
}

std::vector<std::string> BpeModel::merge(const std::string &word) const {
  struct Symbol {
    std::string text;
    int prev, next;
  };
  std::vector<Symbol> symbols;
  for (size_t at = 0; at < word.size();) {
    size_t length = codePointAt(word, at).second;
    symbols.push_back({word.substr(at, length), int(symbols.size()) - 1, int(symbols.size()) + 1});
    at += length;
  }
  if (!symbols.empty())
    symbols.back().next = -1;
  auto rankOf = [&](int left, int right) -> std::optional<int32_t> {
    auto found = ranks.find(symbols[left].text + '\x01' + symbols[right].text);
    return found == ranks.end() ? std::nullopt : std::optional<int32_t>(found->second);
  };
  // (rank, left symbol, right symbol); stale entries are skipped when popped.
  using Candidate = std::tuple<int32_t, int, int>;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto consider = [&](int left, int right) {
    if (left >= 0 && right >= 0)
      if (std::optional<int32_t> rank = rankOf(left, right))
        queue.emplace(*rank, left, right);
  };
  for (int i = 0; i + 1 < int(symbols.size()); ++i)
    consider(i, i + 1);
  std::vector<bool> merged(symbols.size(), false);
  while (!queue.empty()) {
    auto [rank, left, right] = queue.top();
    queue.pop();
    if (merged[left] || merged[right] || symbols[left].next != right || rankOf(left, right) != rank)
      continue;
    symbols[left].text += symbols[right].text;
    merged[right] = true;
    symbols[left].next = symbols[right].next;
    if (symbols[left].next >= 0)
      symbols[symbols[left].next].prev = left;
    consider(symbols[left].prev, left);
    consider(left, symbols[left].next);
  }
  std::vector<std::string> out;
  for (int i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next)
    out.push_back(std::move(symbols[i].text));
  return out;
}

void BpeModel::encodeWord(const std::string &word, std::vector<int32_t> &ids) const {
  if (ignoreMerges)
    if (auto whole = vocab.find(word); whole != vocab.end()) {
      ids.push_back(whole->second);
      return;
    }
  {
    std::lock_guard<std::mutex> lock(cacheMutex_);
    if (auto cached = cache_.find(word); cached != cache_.end()) {
      ids.insert(ids.end(), cached->second.begin(), cached->second.end());
      return;
    }
  }
  std::vector<int32_t> wordIds;
  for (const std::string &symbol : merge(word)) {
    auto found = vocab.find(symbol);
    if (found != vocab.end())
      wordIds.push_back(found->second);
    else if (unknown)
      wordIds.push_back(*unknown);
    else
      throw Error("tokenizer: '" + symbol + "' is not in the vocabulary and the model has no unk_token");
  }
  ids.insert(ids.end(), wordIds.begin(), wordIds.end());
  std::lock_guard<std::mutex> lock(cacheMutex_);
  if (cache_.size() < 65536) // words repeat; a bound keeps odd inputs from growing it without end
    cache_.emplace(word, std::move(wordIds));
}

} // namespace ember::rt::tokenizer
