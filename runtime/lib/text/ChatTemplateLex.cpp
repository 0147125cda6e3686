// The chat template lexer: jinja2's token stream for HF's environment
// (trim_blocks, lstrip_blocks, keep_trailing_newline=False), with the same
// whitespace rules: "{%-"/"-%}" strip all whitespace, "{%+"/"+%}" keep it,
// a block or comment tag alone on its line loses the indentation before it
// and the newline after it; "{{ }}" never does.

#include "ChatTemplateLex.h"

#include "ember/model/Error.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace ember::rt::chat {

namespace {

bool isDigit(char32_t c) { return c >= '0' && c <= '9'; }
bool isNameStart(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isNameChar(char32_t c) { return isNameStart(c) || isDigit(c); }

class Lexer {
public:
  Lexer(const std::string &source, const std::string &origin) : origin_(origin) {
    // jinja2 reads \r\n and \r as \n and drops one trailing newline.
    std::u32string raw = decodeUtf8(source);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n')
        continue;
      text_ += raw[i] == '\r' ? U'\n' : raw[i];
    }
    if (!text_.empty() && text_.back() == '\n')
      text_.pop_back();
    lineStarts_.push_back(0);
    for (size_t i = 0; i < text_.size(); ++i)
      if (text_[i] == '\n')
        lineStarts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool lineStarting = true; // the previous tag ended with a newline (or nothing came yet)
    while (pos < text_.size()) {
      size_t tag = findTagStart(pos);
      if (tag == std::u32string::npos) {
        emit(Token::Type::Data, pos, encodeUtf8(text_.substr(pos)));
        break;
      }
      char32_t kind = text_[tag + 1];
      char32_t sign = tag + 2 < text_.size() && (text_[tag + 2] == '-' || text_[tag + 2] == '+') ? text_[tag + 2] : 0;
      size_t rawBodyStart = kind == '%' ? matchRawBegin(tag, "raw") : std::u32string::npos;
      emitData(pos, tag, sign, kind != '{', lineStarting);
      size_t after = tag + 2 + (sign ? 1 : 0);
      if (rawBodyStart != std::u32string::npos)
        pos = lexRaw(tag, rawBodyStart, lineStarting);
      else if (kind == '#')
        pos = lexComment(tag, after, lineStarting);
      else
        pos = lexTag(tag, after, kind == '%', lineStarting);
    }
    emit(Token::Type::End, text_.size(), "");
    return std::move(tokens_);
  }

private:
  const std::string &origin_;
  std::u32string text_;
  std::vector<size_t> lineStarts_;
  std::vector<Token> tokens_;

  [[noreturn]] void error(size_t offset, const std::string &message) const {
    Location at = locate(offset);
    throw Error(origin_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " + message);
  }

  Location locate(size_t offset) const {
    size_t line = size_t(std::upper_bound(lineStarts_.begin(), lineStarts_.end(), offset) - lineStarts_.begin());
    return {int(line), int(offset - lineStarts_[line - 1] + 1)};
  }

  void emit(Token::Type type, size_t offset, std::string text, Value literal = Value()) {
    tokens_.push_back(Token{type, std::move(text), std::move(literal), locate(offset)});
  }

  bool startsWith(size_t pos, const char *prefix) const {
    for (size_t i = 0; prefix[i]; ++i)
      if (pos + i >= text_.size() || text_[pos + i] != char32_t(prefix[i]))
        return false;
    return true;
  }

  size_t skipSpaces(size_t pos) const {
    while (pos < text_.size() && isPythonSpace(text_[pos]))
      ++pos;
    return pos;
  }

  size_t findTagStart(size_t pos) const {
    for (size_t i = pos; i + 1 < text_.size(); ++i)
      if (text_[i] == '{' && (text_[i + 1] == '{' || text_[i + 1] == '%' || text_[i + 1] == '#'))
        return i;
    return std::u32string::npos;
  }

  // The text before a tag, stripped as the tag's sign and lstrip_blocks say.
  void emitData(size_t begin, size_t end, char32_t sign, bool lstripApplies, bool lineStarting) {
    if (sign == '-') {
      while (end > begin && isPythonSpace(text_[end - 1]))
        --end;
    } else if (sign != '+' && lstripApplies) {
      size_t lineStart = begin;
      for (size_t i = end; i > begin; --i)
        if (text_[i - 1] == '\n') {
          lineStart = i;
          break;
        }
      bool onlySpaces = lineStart < end;
      for (size_t i = lineStart; i < end && onlySpaces; ++i)
        onlySpaces = isPythonSpace(text_[i]);
      if ((lineStart > begin || lineStarting) && onlySpaces)
        end = lineStart;
    }
    if (end > begin)
      emit(Token::Type::Data, begin, encodeUtf8(text_.substr(begin, end - begin)));
  }

  // "{%[-+]? raw -?%}" (or "endraw [-+]?%}") at `tag`: the offset after it, else npos.
  size_t matchRawBegin(size_t tag, const char *word) const {
    size_t pos = tag + 2;
    if (pos < text_.size() && (text_[pos] == '-' || text_[pos] == '+'))
      ++pos;
    pos = skipSpaces(pos);
    if (!startsWith(pos, word))
      return std::u32string::npos;
    pos = skipSpaces(pos + std::char_traits<char>::length(word));
    if (word == std::string("endraw") && startsWith(pos, "+%}"))
      return pos + 3;
    if (startsWith(pos, "-%}"))
      return skipSpaces(pos + 3);
    if (startsWith(pos, "%}"))
      return pos + 2;
    return std::u32string::npos;
  }

  // After a block or comment tag's closing "%}"/"#}" at `close`: what the
  // sign before it strips, and whether the tag ended a line.
  size_t afterClose(size_t close, size_t closeLength, char32_t sign, bool &lineStarting) const {
    size_t pos = close + closeLength;
    if (sign == '-')
      pos = skipSpaces(pos);
    else if (sign != '+' && pos < text_.size() && text_[pos] == '\n')
      ++pos; // trim_blocks
    lineStarting = text_[pos - 1] == '\n';
    return pos;
  }

  size_t lexComment(size_t tag, size_t contentStart, bool &lineStarting) {
    for (size_t close = contentStart; close + 1 < text_.size(); ++close) {
      if (text_[close] != '#' || text_[close + 1] != '}')
        continue;
      char32_t sign =
          close > contentStart && (text_[close - 1] == '-' || text_[close - 1] == '+') ? text_[close - 1] : 0;
      return afterClose(close, 2, sign, lineStarting);
    }
    error(tag, "missing end of comment tag '#}'");
  }

  size_t lexRaw(size_t tag, size_t bodyStart, bool &lineStarting) {
    for (size_t end = bodyStart; end + 1 < text_.size(); ++end) {
      if (text_[end] != '{' || text_[end + 1] != '%' || matchRawBegin(end, "endraw") == std::u32string::npos)
        continue;
      char32_t sign = text_[end + 2] == '-' || text_[end + 2] == '+' ? text_[end + 2] : 0;
      emitData(bodyStart, end, sign, true, text_[bodyStart - 1] == '\n');
      size_t close = end + 2;
      while (!startsWith(close, "%}"))
        ++close;
      char32_t closeSign = text_[close - 1] == '-' || text_[close - 1] == '+' ? text_[close - 1] : 0;
      return afterClose(close, 2, closeSign, lineStarting);
    }
    error(tag, "missing '{% endraw %}' for this '{% raw %}'");
  }

  // The tokens of "{{ ... }}" or "{% ... %}" up to the end that closes it
  // (outside brackets, as jinja2 balances them).
  size_t lexTag(size_t tag, size_t pos, bool block, bool &lineStarting) {
    emit(block ? Token::Type::BlockBegin : Token::Type::VariableBegin, tag, "");
    std::vector<char32_t> open;
    while (true) {
      if (pos >= text_.size())
        error(tag, std::string("unexpected end of template: this '") + (block ? "{%" : "{{") + "' is never closed");
      if (open.empty()) {
        if (block && startsWith(pos, "+%}"))
          return endTag(Token::Type::BlockEnd, pos, afterClose(pos + 1, 2, '+', lineStarting));
        if (block && startsWith(pos, "-%}"))
          return endTag(Token::Type::BlockEnd, pos, afterClose(pos + 1, 2, '-', lineStarting));
        if (block && startsWith(pos, "%}"))
          return endTag(Token::Type::BlockEnd, pos, afterClose(pos, 2, 0, lineStarting));
        if (!block && (startsWith(pos, "-}}") || startsWith(pos, "}}"))) {
          size_t after = text_[pos] == '-' ? skipSpaces(pos + 3) : pos + 2;
          lineStarting = text_[after - 1] == '\n';
          return endTag(Token::Type::VariableEnd, pos, after);
        }
      }
      if (isPythonSpace(text_[pos]))
        pos = skipSpaces(pos);
      else
        pos = lexToken(pos, open);
    }
  }

  size_t endTag(Token::Type type, size_t at, size_t after) {
    emit(type, at, "");
    return after;
  }

  size_t lexToken(size_t pos, std::vector<char32_t> &open) {
    char32_t c = text_[pos];
    if (isDigit(c))
      return lexNumber(pos);
    if (isNameStart(c)) {
      size_t end = pos;
      while (end < text_.size() && isNameChar(text_[end]))
        ++end;
      emit(Token::Type::Name, pos, encodeUtf8(text_.substr(pos, end - pos)));
      return end;
    }
    if (c == '\'' || c == '"')
      return lexString(pos);
    static const char *const kOperators[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[",
                                             "]",  "(",  ")",  "{",  "}",  ">",  "<", "=", ".", ":", "|", ",", ";"};
    for (const char *op : kOperators) {
      if (!startsWith(pos, op))
        continue;
      std::string symbol = op;
      if (symbol == "(" || symbol == "[" || symbol == "{")
        open.push_back(symbol == "(" ? ')' : symbol == "[" ? ']' : '}');
      else if (symbol == ")" || symbol == "]" || symbol == "}") {
        if (open.empty())
          error(pos, "unexpected '" + symbol + "'");
        if (open.back() != char32_t(symbol[0]))
          error(pos, "unexpected '" + symbol + "', expected '" + encodeUtf8(std::u32string(1, open.back())) + "'");
        open.pop_back();
      }
      emit(Token::Type::Operator, pos, symbol);
      return pos + symbol.size();
    }
    error(pos, "unexpected character '" + encodeUtf8(std::u32string(1, c)) + "'");
  }

  // Digits with '_' separators: jinja2's integer (0b/0o/0x too) and float literals.
  size_t digitsRun(size_t pos, bool (*accept)(char32_t)) const {
    size_t end = pos;
    while (end < text_.size() &&
           (accept(text_[end]) || (text_[end] == '_' && end + 1 < text_.size() && end > pos && accept(text_[end + 1]))))
      ++end;
    return end;
  }

  size_t lexNumber(size_t pos) {
    auto decimal = [](char32_t c) { return isDigit(c); };
    bool afterDot = pos > 0 && text_[pos - 1] == '.'; // "a.0.1" is two subscripts, not a float
    size_t end = digitsRun(pos, decimal);
    size_t floatEnd = end;
    if (!afterDot) {
      if (floatEnd + 1 < text_.size() && text_[floatEnd] == '.' && isDigit(text_[floatEnd + 1]))
        floatEnd = digitsRun(floatEnd + 1, decimal);
      size_t exponent = floatEnd;
      if (exponent < text_.size() && (text_[exponent] == 'e' || text_[exponent] == 'E')) {
        size_t digits = exponent + 1;
        if (digits < text_.size() && (text_[digits] == '+' || text_[digits] == '-'))
          ++digits;
        if (digits < text_.size() && isDigit(text_[digits]))
          floatEnd = digitsRun(digits, decimal);
      }
    }
    if (floatEnd > end) {
      std::string literal;
      for (size_t i = pos; i < floatEnd; ++i)
        if (text_[i] != '_')
          literal += char(text_[i]);
      emit(Token::Type::Float, pos, literal, Value::of(std::strtod(literal.c_str(), nullptr)));
      return floatEnd;
    }
    int base = 10;
    size_t digitsStart = pos;
    if (text_[pos] == '0' && pos + 1 < text_.size()) {
      char32_t prefix = text_[pos + 1] | 0x20;
      base = prefix == 'b' ? 2 : prefix == 'o' ? 8 : prefix == 'x' ? 16 : 10;
      if (base != 10) {
        digitsStart = pos + 2;
        end = digitsStart;
        while (end < text_.size() && (text_[end] == '_' || std::isxdigit(int(text_[end] < 128 ? text_[end] : 0))))
          ++end;
      } else {
        end = pos + 1; // "0", "00", "0_0": a decimal zero has no other digits
        while (end < text_.size() &&
               (text_[end] == '0' || (text_[end] == '_' && end + 1 < text_.size() && text_[end + 1] == '0')))
          end += text_[end] == '_' ? 2 : 1;
      }
    }
    std::string digits;
    for (size_t i = digitsStart; i < end; ++i)
      if (text_[i] != '_')
        digits += char(text_[i]);
    errno = 0;
    char *parsedEnd = nullptr;
    long long value = std::strtoll(digits.c_str(), &parsedEnd, base);
    if (digits.empty() || *parsedEnd || errno == ERANGE)
      error(pos, "the integer literal '" + encodeUtf8(text_.substr(pos, end - pos)) +
                     "' is not a 64-bit integer in base " + std::to_string(base));
    emit(Token::Type::Integer, pos, digits, Value::of(int64_t(value)));
    return end;
  }

  // A quoted string with Python's escapes (jinja2 decodes them as 'unicode-escape').
  size_t lexString(size_t pos) {
    char32_t quote = text_[pos];
    std::u32string value;
    size_t i = pos + 1;
    for (; i < text_.size() && text_[i] != quote; ++i) {
      if (text_[i] != '\\') {
        value += text_[i];
        continue;
      }
      if (++i >= text_.size())
        break;
      char32_t c = text_[i];
      static const std::u32string kSimple = U"\\'\"abfnrtv";
      static const std::u32string kMeaning = U"\\'\"\a\b\f\n\r\t\v";
      if (size_t k = kSimple.find(c); k != std::u32string::npos) {
        value += kMeaning[k];
      } else if (c == '\n') {
        // a backslash-newline continues the line
      } else if (c >= '0' && c <= '7') {
        char32_t code = 0;
        for (int n = 0; n < 3 && i < text_.size() && text_[i] >= '0' && text_[i] <= '7'; ++n, ++i)
          code = code * 8 + (text_[i] - '0');
        --i;
        value += code;
      } else if (c == 'x' || c == 'u' || c == 'U') {
        size_t count = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        std::string hex;
        for (size_t n = 0; n < count && i + 1 < text_.size() && text_[i + 1] < 128 && std::isxdigit(int(text_[i + 1]));
             ++n)
          hex += char(text_[++i]);
        unsigned long code = hex.size() == count ? std::strtoul(hex.c_str(), nullptr, 16) : 0x110000;
        if (code > 0x10ffff)
          error(pos, "the string has a malformed or out-of-range \\" + encodeUtf8(std::u32string(1, c)) + " escape");
        value += char32_t(code);
      } else if (c == 'N') {
        error(pos, "the \\N{...} escape is not supported by ember's chat template engine");
      } else {
        value += U'\\';
        value += c;
      }
    }
    if (i >= text_.size())
      error(pos, "unterminated string literal");
    emit(Token::Type::String, pos, encodeUtf8(value));
    return i + 1;
  }
};

} // namespace

std::vector<Token> lexTemplate(const std::string &source, const std::string &origin) {
  return Lexer(source, origin).run();
}

void TokenCursor::error(const std::string &message, const Location *at) const {
  Location where = at ? *at : current().at;
  throw Error(origin_ + ":" + std::to_string(where.line) + ":" + std::to_string(where.column) + ": " + message);
}

std::string TokenCursor::describe(const Token &token) {
  switch (token.type) {
  case Token::Type::Data:
    return "template text";
  case Token::Type::VariableBegin:
    return "'{{'";
  case Token::Type::VariableEnd:
    return "end of print statement '}}'";
  case Token::Type::BlockBegin:
    return "'{%'";
  case Token::Type::BlockEnd:
    return "end of statement block '%}'";
  case Token::Type::String:
    return "a string";
  case Token::Type::Integer:
  case Token::Type::Float:
    return "a number";
  case Token::Type::End:
    return "end of template";
  default:
    return "'" + token.text + "'";
  }
}

bool TokenCursor::isOperator(const char *symbol, size_t ahead) const {
  const Token &token = peek(ahead);
  return token.type == Token::Type::Operator && token.text == symbol;
}

bool TokenCursor::isName(const char *name, size_t ahead) const {
  const Token &token = peek(ahead);
  return token.type == Token::Type::Name && token.text == name;
}

bool TokenCursor::skipOperator(const char *symbol) {
  if (!isOperator(symbol))
    return false;
  advance();
  return true;
}

bool TokenCursor::skipName(const char *name) {
  if (!isName(name))
    return false;
  advance();
  return true;
}

void TokenCursor::expectOperator(const char *symbol) {
  if (!skipOperator(symbol))
    error(std::string("expected '") + symbol + "', got " + describe(current()));
}

std::string TokenCursor::expectName(const char *what) {
  if (current().type != Token::Type::Name)
    error(std::string("expected ") + what + ", got " + describe(current()));
  return advance().text;
}

void TokenCursor::expectBlockEnd(const std::string &tag) {
  if (current().type != Token::Type::BlockEnd)
    error("expected the end of the '" + tag + "' tag '%}', got " + describe(current()));
  advance();
}

} // namespace ember::rt::chat
