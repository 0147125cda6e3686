#pragma once

// Text to token ids and back with a Hugging Face tokenizer.json of the
// byte-level BPE family (GPT-2, Llama 3, DeepSeek, LongCat): added and
// special tokens matched first, the pre-tokenizer's Split regexes (PCRE2,
// Unicode properties) and ByteLevel step, BPE merges (with ignore_merges),
// the TemplateProcessing post-processor that adds BOS, and the ByteLevel
// decoder. Any other normalizer, pre-tokenizer, model or decoder is refused
// when the file is loaded, naming it: ember never tokenizes differently from
// the reference without saying so.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ember::rt {

class Tokenizer {
public:
  // Reads and checks `path` (a tokenizer.json); throws Error naming the
  // file and the field it cannot use.
  static Tokenizer load(const std::string &path);
  ~Tokenizer();
  Tokenizer(Tokenizer &&) noexcept;
  Tokenizer &operator=(Tokenizer &&) noexcept;

  // As HF's encode(text, add_special_tokens). Throws on text that is not
  // valid UTF-8, naming the byte.
  std::vector<int32_t> encode(std::string_view text, bool addSpecialTokens = true) const;
  // As HF's decode(ids, skip_special_tokens): the bytes the ids stand for,
  // which may end inside a UTF-8 sequence. Throws on an id outside the
  // vocabulary.
  std::string decode(const std::vector<int32_t> &ids, bool skipSpecialTokens = false) const;
  // Ids [0, size) the tokenizer knows (vocabulary and added tokens).
  int64_t size() const;
  const std::string &path() const;

  struct Impl;

private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// GPT-2's printable character (UTF-8) for each byte value: the alphabet
// byte-level vocabularies are written in.
const std::array<std::string, 256> &byteLevelAlphabet();

// Generated text as it streams: the bytes of each new token, released up to
// the last complete UTF-8 character so a character split over two tokens is
// printed once whole. With stop strings, text that may begin one is held
// back until it cannot, and the stream ends just before the first stop
// string the text holds, the text a finished generation reports.
class TextStream {
public:
  explicit TextStream(const Tokenizer &tokenizer, bool skipSpecialTokens = false,
                      std::vector<std::string> stopStrings = {})
      : tokenizer_(tokenizer), skipSpecialTokens_(skipSpecialTokens), stopStrings_(std::move(stopStrings)) {}
  // The text `token` releases (possibly empty; always empty once stopped).
  std::string push(int32_t token);
  // What is left at the end: held bytes (an incomplete character, the start
  // of a stop string that never completed); nothing once stopped.
  std::string finish();
  bool stopped() const { return stopped_; }

private:
  // Bytes at the end of pending_ that could be the start of a stop string.
  size_t stopPrefixLength() const;

  const Tokenizer &tokenizer_;
  bool skipSpecialTokens_;
  std::vector<std::string> stopStrings_;
  std::string pending_;
  bool stopped_ = false;
};

} // namespace ember::rt
