#pragma once

// Pieces of the tokenizer that know nothing of tokenizer.json: UTF-8, the
// byte-level alphabet, PCRE2 splitting and BPE merging. Private to the
// runtime library (Tokenizer.cpp reads the file and wires them up).

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

typedef struct pcre2_real_code_8 pcre2_code_8;

namespace ember::rt::tokenizer {

// Byte offset of the first byte that does not start or continue a valid
// UTF-8 character, or npos.
size_t invalidUtf8Offset(std::string_view text);
// Offset just past the last complete UTF-8 character of `bytes`, where an
// incomplete trailing sequence (at most 3 bytes) begins.
size_t completeUtf8Prefix(std::string_view bytes);

// GPT-2's map of the 256 byte values to printable characters, which
// byte-level vocabularies are written in.
class ByteAlphabet {
public:
  ByteAlphabet();
  // Each byte of `bytes` as its character (UTF-8).
  std::string encode(std::string_view bytes) const;
  // A token's bytes: each character mapped back when all are in the
  // alphabet, else the token's own UTF-8 (as HF's ByteLevel decoder does).
  std::string decode(std::string_view token) const;
  const std::array<std::string, 256> &characters() const { return characters_; }

private:
  std::array<std::string, 256> characters_;
  std::unordered_map<uint32_t, uint8_t> bytes_; // code point -> byte
};

// A compiled Unicode regex (PCRE2, UTF + UCP).
class Regex {
public:
  // `where` names the pattern's origin in a compile error.
  Regex(const std::string &pattern, const std::string &where);
  ~Regex();
  Regex(Regex &&other) noexcept;
  Regex(const Regex &) = delete;
  Regex &operator=(const Regex &) = delete;
  // HF's Split with behavior Isolated: every match and every stretch
  // between matches, in order, none empty. `text` must be valid UTF-8.
  void splitIsolated(std::string_view text, std::vector<std::string> &pieces) const;

private:
  pcre2_code_8 *code_ = nullptr;
};

// Byte-pair encoding of one pre-tokenized word (written in the byte
// alphabet): merges by rank, the lowest rank and then the leftmost pair
// first, as HF's BPE model does.
class BpeModel {
public:
  std::unordered_map<std::string, int32_t> vocab;
  std::optional<int32_t> unknown;
  bool ignoreMerges = false;
  // Rank of merge "left right" (keyed left + '\x01' + right).
  std::unordered_map<std::string, int32_t> ranks;

  void encodeWord(const std::string &word, std::vector<int32_t> &ids) const;

private:
  std::vector<std::string> merge(const std::string &word) const;
  mutable std::mutex cacheMutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

} // namespace ember::rt::tokenizer
