// Printing the chat template engine's values as Python does (str, repr,
// float repr) and HF's tojson (json.dumps with ensure_ascii=False).

#include "ChatTemplateValue.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ember::rt::chat {

namespace {

// Python's str.isprintable() for the characters chat text has; repr escapes the rest.
bool isPrintable(char32_t c) {
  if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0xa0) || c == 0xad)
    return false;
  return !((c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) || (c >= 0x205f && c <= 0x206f) ||
           c == 0x3000 || c == 0x1680 || c == 0x180e || c == 0x061c || c == 0xfeff || (c >= 0xd800 && c <= 0xf8ff) ||
           (c >= 0xfff9 && c <= 0xfffb));
}

std::string hexEscape(char32_t c) {
  char buffer[16];
  if (c < 0x100)
    std::snprintf(buffer, sizeof buffer, "\\x%02x", unsigned(c));
  else if (c < 0x10000)
    std::snprintf(buffer, sizeof buffer, "\\u%04x", unsigned(c));
  else
    std::snprintf(buffer, sizeof buffer, "\\U%08x", unsigned(c));
  return buffer;
}

std::string stringRepr(const std::string &text) {
  char quote = text.find('\'') != std::string::npos && text.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : decodeUtf8(text)) {
    if (c == char32_t(quote) || c == '\\')
      out += {'\\', char(c)};
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (!isPrintable(c))
      out += hexEscape(c);
    else
      out += encodeUtf8(std::u32string(1, c));
  }
  return out + quote;
}

std::string repr(const Value &value, int depth) {
  checkNesting(depth);
  switch (value.kind) {
  case Kind::Undefined:
    return "Undefined";
  case Kind::None:
    return "None";
  case Kind::Bool:
    return value.boolean ? "True" : "False";
  case Kind::Int:
    return std::to_string(value.integer);
  case Kind::Float:
    return floatRepr(value.number);
  case Kind::String:
    return stringRepr(value.text);
  case Kind::List:
  case Kind::Tuple: {
    if (value.text.find('(') != std::string::npos)
      return value.text; // range(0, 3)
    bool tuple = value.kind == Kind::Tuple;
    std::string out = value.text.empty() ? "" : value.text + "(";
    out += tuple ? "(" : "[";
    for (size_t i = 0; i < value.list->size(); ++i)
      out += (i ? ", " : "") + repr((*value.list)[i], depth + 1);
    out += tuple ? (value.list->size() == 1 ? ",)" : ")") : "]";
    return value.text.empty() ? out : out + ")";
  }
  case Kind::Dict:
  case Kind::Namespace: {
    std::string out = value.kind == Kind::Namespace ? "<Namespace {" : "{";
    for (size_t i = 0; i < value.dict->entries.size(); ++i)
      out += (i ? ", " : "") + repr(value.dict->entries[i].first, depth + 1) + ": " +
             repr(value.dict->entries[i].second, depth + 1);
    return out + (value.kind == Kind::Namespace ? "}>" : "}");
  }
  case Kind::Function:
    fail("cannot print the function '" + value.function->name + "' (Python prints its memory address)");
  case Kind::Generator:
    fail("cannot print a generator (Python prints its memory address; convert it with '| list')");
  }
  fail("unknown value kind");
}

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default:
      if (c < 0x20) {
        char buffer[8];
        std::snprintf(buffer, sizeof buffer, "\\u%04x", unsigned(c));
        out += buffer;
      } else {
        out += char(c);
      }
    }
  }
  return out + "\"";
}

std::string jsonFloat(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "Infinity" : "-Infinity";
  return floatRepr(value);
}

struct JsonWriter {
  const std::optional<std::string> &indent;
  std::string itemSeparator, keySeparator;
  bool sortKeys;

  std::string key(const Value &key) const {
    switch (key.kind) {
    case Kind::String:
      return key.text;
    case Kind::Int:
      return std::to_string(key.integer);
    case Kind::Float:
      return jsonFloat(key.number);
    case Kind::Bool:
      return key.boolean ? "true" : "false";
    case Kind::None:
      return "null";
    default:
      fail("tojson: keys must be str, int, float, bool or None, not " + typeName(key));
    }
  }

  std::string newline(int level) const {
    std::string out = "\n";
    for (int i = 0; i < level; ++i)
      out += *indent;
    return out;
  }

  std::string write(const Value &value, int level) const {
    checkNesting(level);
    switch (value.kind) {
    case Kind::None:
      return "null";
    case Kind::Bool:
      return value.boolean ? "true" : "false";
    case Kind::Int:
      return std::to_string(value.integer);
    case Kind::Float:
      return jsonFloat(value.number);
    case Kind::String:
      return jsonString(value.text);
    case Kind::List:
    case Kind::Tuple: {
      if (value.list->empty())
        return "[]";
      std::vector<std::string> items;
      for (const Value &item : *value.list)
        items.push_back(write(item, level + 1));
      return wrap("[", items, "]", level);
    }
    case Kind::Dict: {
      if (value.dict->entries.empty())
        return "{}";
      std::vector<std::pair<Value, Value>> entries = value.dict->entries;
      if (sortKeys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto &a, const auto &b) { return lessThan(a.first, b.first); });
      std::vector<std::string> items;
      for (const auto &[k, v] : entries)
        items.push_back(jsonString(key(k)) + keySeparator + write(v, level + 1));
      return wrap("{", items, "}", level);
    }
    default:
      fail("tojson: Object of type " + typeName(value) + " is not JSON serializable");
    }
  }

  std::string wrap(const char *open, const std::vector<std::string> &items, const char *close, int level) const {
    std::string out = open;
    if (indent)
      out += newline(level + 1);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i)
        out += itemSeparator + (indent ? newline(level + 1) : "");
      out += items[i];
    }
    if (indent)
      out += newline(level);
    return out + close;
  }
};

} // namespace

std::string pyStr(const Value &value) {
  if (value.kind == Kind::String)
    return value.text;
  if (value.kind == Kind::Undefined)
    return "";
  return repr(value, 0);
}

std::string pyRepr(const Value &value) { return repr(value, 0); }

std::string floatRepr(double value) {
  if (std::isnan(value))
    return "nan";
  if (std::isinf(value))
    return value > 0 ? "inf" : "-inf";
  // The shortest digits that read back as `value`, as Python's repr.
  char buffer[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*e", precision - 1, value);
    if (std::strtod(buffer, nullptr) == value)
      break;
  }
  std::string text = buffer;
  bool negative = text[0] == '-';
  size_t ePos = text.find('e');
  int exponent = std::atoi(text.c_str() + ePos + 1);
  std::string digits;
  for (size_t i = negative; i < ePos; ++i)
    if (text[i] != '.')
      digits += text[i];
  while (digits.size() > 1 && digits.back() == '0')
    digits.pop_back();
  int pointAt = exponent + 1; // value = 0.<digits> * 10^pointAt
  std::string out = negative ? "-" : "";
  if (pointAt > -4 && pointAt <= 16) {
    if (pointAt <= 0)
      out += "0." + std::string(size_t(-pointAt), '0') + digits;
    else if (size_t(pointAt) >= digits.size())
      out += digits + std::string(size_t(pointAt) - digits.size(), '0') + ".0";
    else
      out += digits.substr(0, size_t(pointAt)) + "." + digits.substr(size_t(pointAt));
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1)
    out += "." + digits.substr(1);
  char exponentText[16];
  std::snprintf(exponentText, sizeof exponentText, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exponentText;
}

std::string toJson(const Value &value, const std::optional<std::string> &indent,
                   const std::optional<std::pair<std::string, std::string>> &separators, bool sortKeys) {
  std::pair<std::string, std::string> chosen = separators ? *separators
                                               : indent   ? std::pair<std::string, std::string>(",", ": ")
                                                          : std::pair<std::string, std::string>(", ", ": ");
  JsonWriter writer{indent, chosen.first, chosen.second, sortKeys};
  return writer.write(value, 0);
}

} // namespace ember::rt::chat
