#pragma once

// The chat template lexer (ChatTemplateLex.cpp) and the token cursor the
// parser reads with. Private to the runtime library.

#include "ChatTemplateAst.h"

#include <algorithm>
#include <string>
#include <vector>

namespace ember::rt::chat {

struct Token {
  enum class Type {
    Data,
    VariableBegin,
    VariableEnd,
    BlockBegin,
    BlockEnd,
    Name,
    String,
    Integer,
    Float,
    Operator,
    End
  };
  Type type;
  std::string text; // Data's text, a Name, an Operator's symbol, a String's decoded value
  Value literal;    // Integer and Float
  Location at;
};

// Throws Error "<origin>:<line>:<column>: ..." on text jinja2 cannot tokenize.
std::vector<Token> lexTemplate(const std::string &source, const std::string &origin);

// A cursor over the tokens with the checks the parser makes; errors name
// "<origin>:<line>:<column>".
class TokenCursor {
public:
  TokenCursor(std::vector<Token> tokens, const std::string &origin) : tokens_(std::move(tokens)), origin_(origin) {}

  const Token &current() const { return tokens_[pos_]; }
  const Token &peek(size_t ahead = 1) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token &advance() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  [[noreturn]] void error(const std::string &message, const Location *at = nullptr) const;
  static std::string describe(const Token &token);
  bool isOperator(const char *symbol, size_t ahead = 0) const;
  bool isName(const char *name, size_t ahead = 0) const;
  bool skipOperator(const char *symbol);
  bool skipName(const char *name);
  void expectOperator(const char *symbol);
  std::string expectName(const char *what);
  void expectBlockEnd(const std::string &tag);

private:
  std::vector<Token> tokens_;
  const std::string &origin_;
  size_t pos_ = 0;
};

} // namespace ember::rt::chat
