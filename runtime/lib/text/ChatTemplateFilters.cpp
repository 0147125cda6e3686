// The filters of ember's Jinja engine, with jinja2 3.1's semantics (and
// HF's tojson), by name.

#include "ChatTemplateAst.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace ember::rt::chat {

namespace {

using Filter = Value (*)(const Value &, CallArgs &);

std::optional<Value> single(const char *name, CallArgs &args, const char *parameter) {
  return bindArguments(name, args, {parameter}, 0)[0];
}

// jinja2's attribute paths ("a.b", "0"): item lookups, digits as indexes.
std::vector<Value> attributePath(const Value &attribute) {
  if (attribute.kind != Kind::String)
    return {attribute};
  std::vector<std::string> pieces(1);
  for (char c : attribute.text) {
    if (c == '.')
      pieces.emplace_back();
    else
      pieces.back() += c;
  }
  std::vector<Value> parts;
  for (const std::string &part : pieces) {
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    parts.push_back(digits && part.size() < 18 ? Value::of(int64_t(std::stoll(part))) : Value::of(part));
  }
  return parts;
}

Value lookupPath(Value item, const std::vector<Value> &path, const std::optional<Value> &fallback = std::nullopt) {
  for (const Value &part : path) {
    item = getItem(item, part);
    if (fallback && fallback->kind != Kind::None && item.kind == Kind::Undefined)
      item = *fallback;
  }
  return item;
}

Value ignoreCase(Value value, bool caseSensitive) {
  return !caseSensitive && value.kind == Kind::String ? Value::of(pyLower(value.text)) : value;
}

Value filterSort(const Value &input, CallArgs &args) {
  auto bound = bindArguments("sort", args, {"reverse", "case_sensitive", "attribute"}, 0);
  bool reverse = bound[0] && truthy(*bound[0]), caseSensitive = bound[1] && truthy(*bound[1]);
  std::vector<std::vector<Value>> paths;
  if (bound[2] && bound[2]->kind == Kind::String) {
    std::string names = bound[2]->text;
    for (size_t begin = 0;;) {
      size_t comma = names.find(',', begin);
      paths.push_back(attributePath(Value::of(names.substr(begin, comma - begin))));
      if (comma == std::string::npos)
        break;
      begin = comma + 1;
    }
  } else if (bound[2] && bound[2]->kind != Kind::None) {
    paths.push_back(attributePath(*bound[2]));
  }
  List items = iterate(input);
  std::vector<std::pair<Value, Value>> keyed; // (sort key, item)
  for (Value &item : items) {
    List key;
    for (const auto &path : paths)
      key.push_back(ignoreCase(lookupPath(item, path), caseSensitive));
    keyed.emplace_back(paths.empty() ? ignoreCase(item, caseSensitive) : Value::ofList(std::move(key)), item);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [reverse](const auto &a, const auto &b) {
    return reverse ? lessThan(b.first, a.first) : lessThan(a.first, b.first);
  });
  List sorted;
  for (auto &entry : keyed)
    sorted.push_back(std::move(entry.second));
  return Value::ofList(std::move(sorted));
}

Value filterUnique(const Value &input, CallArgs &args) {
  auto bound = bindArguments("unique", args, {"case_sensitive", "attribute"}, 0);
  bool caseSensitive = bound[0] && truthy(*bound[0]);
  std::vector<Value> path = bound[1] && bound[1]->kind != Kind::None ? attributePath(*bound[1]) : std::vector<Value>{};
  List seen, unique;
  for (const Value &item : iterate(input)) {
    Value key = ignoreCase(lookupPath(item, path), caseSensitive);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value &other) { return equals(other, key); })) {
      seen.push_back(key);
      unique.push_back(item);
    }
  }
  return Value::ofGenerator(std::move(unique));
}

Value filterMap(const Value &input, CallArgs &args) {
  List mapped;
  if (args.positional.empty()) {
    std::optional<Value> attribute, fallback;
    for (auto &[name, value] : args.keywords) {
      if (name == "attribute")
        attribute = value;
      else if (name == "default")
        fallback = value;
      else
        fail("map(): unexpected keyword argument '" + name + "'");
    }
    if (!attribute)
      fail("map() requires a filter name or attribute=...");
    std::vector<Value> path = attributePath(*attribute);
    if (truthy(input))
      for (const Value &item : iterate(input))
        mapped.push_back(lookupPath(item, path, fallback));
    return Value::ofGenerator(std::move(mapped));
  }
  if (args.positional[0].kind != Kind::String)
    fail("map()'s filter name must be a string");
  std::string filter = args.positional[0].text;
  if (!isFilter(filter))
    fail("map(): no filter named '" + filter + "'");
  if (truthy(input))
    for (const Value &item : iterate(input)) {
      CallArgs rest{{args.positional.begin() + 1, args.positional.end()}, args.keywords};
      mapped.push_back(applyFilter(filter, item, rest));
    }
  return Value::ofGenerator(std::move(mapped));
}

// select / reject / selectattr / rejectattr.
Value selectOrReject(const Value &input, CallArgs &args, bool keep, bool byAttribute) {
  size_t next = 0;
  std::vector<Value> path;
  if (byAttribute) {
    if (args.positional.empty())
      fail("selectattr()/rejectattr() need an attribute name");
    path = attributePath(args.positional[next++]);
  }
  std::optional<std::string> test;
  if (next < args.positional.size()) {
    if (args.positional[next].kind != Kind::String)
      fail("select()'s test name must be a string");
    test = args.positional[next++].text;
    if (!isTest(*test))
      fail("no test named '" + *test + "'");
  }
  List selected;
  if (truthy(input))
    for (const Value &item : iterate(input)) {
      Value subject = lookupPath(item, path);
      CallArgs rest{{args.positional.begin() + std::ptrdiff_t(next), args.positional.end()}, args.keywords};
      bool passes = test ? applyTest(*test, subject, rest) : truthy(subject);
      if (passes == keep)
        selected.push_back(item);
    }
  return Value::ofGenerator(std::move(selected));
}

Value filterDefault(const Value &input, CallArgs &args) {
  auto bound = bindArguments("default", args, {"default_value", "boolean"}, 0);
  bool boolean = bound[1] && truthy(*bound[1]);
  if (input.kind == Kind::Undefined || (boolean && !truthy(input)))
    return bound[0] ? *bound[0] : Value::of("");
  return input;
}

Value filterJoin(const Value &input, CallArgs &args) {
  auto bound = bindArguments("join", args, {"d", "attribute"}, 0);
  std::string separator = bound[0] ? pyStr(*bound[0]) : "";
  std::vector<Value> path = bound[1] && bound[1]->kind != Kind::None ? attributePath(*bound[1]) : std::vector<Value>{};
  std::string out;
  bool first = true;
  for (const Value &item : iterate(input)) {
    out += (first ? "" : separator) + pyStr(lookupPath(item, path));
    first = false;
    if (out.size() > kMaxValueSize)
      fail("join(): the result is longer than " + std::to_string(kMaxValueSize) + " bytes");
  }
  return Value::of(out);
}

Value filterFirstOrLast(const Value &input, bool first) {
  if (!first && input.kind == Kind::Generator)
    fail("last(): a generator cannot be reversed (convert it with '| list')");
  if (first && input.kind == Kind::Generator) {
    GeneratorState &state = *input.generator;
    if (state.next < state.items.size())
      return state.items[state.next++];
    return Value::undefined("No first item, sequence was empty.");
  }
  List items = iterate(input);
  if (items.empty())
    return Value::undefined(first ? "No first item, sequence was empty." : "No last item, sequence was empty.");
  return first ? items.front() : items.back();
}

// Python's float(str): surrounding whitespace, '_' between digits, inf and nan.
std::optional<double> parseFloat(const std::string &text) {
  std::string cleaned = pyStrip(text, std::nullopt, true, true);
  std::string digits;
  for (size_t i = 0; i < cleaned.size(); ++i)
    if (cleaned[i] != '_' || (i > 0 && i + 1 < cleaned.size() && std::isdigit((unsigned char)cleaned[i - 1]) &&
                              std::isdigit((unsigned char)cleaned[i + 1])))
      digits += cleaned[i];
  if (digits.empty() || digits.find_first_of("xXpP") != std::string::npos)
    return std::nullopt;
  char *end = nullptr;
  double value = std::strtod(digits.c_str(), &end);
  return *end ? std::nullopt : std::optional<double>(value);
}

Value filterInt(const Value &input, CallArgs &args) {
  auto bound = bindArguments("int", args, {"default", "base"}, 0);
  Value fallback = bound[0] ? *bound[0] : Value::of(int64_t(0));
  int base = bound[1] ? int(toInteger(*bound[1], "int()'s base")) : 10;
  switch (input.kind) {
  case Kind::Int:
  case Kind::Bool:
    return Value::of(toInteger(input, "int()'s value"));
  case Kind::Float:
    if (std::isnan(input.number))
      return fallback;
    if (std::isinf(input.number) || std::fabs(input.number) >= 9.2e18)
      fail("int(): cannot convert " + floatRepr(input.number) + " to a 64-bit integer");
    return Value::of(int64_t(input.number));
  case Kind::String: {
    std::string text = pyStrip(input.text, std::nullopt, true, true), digits;
    for (char c : text)
      if (c != '_')
        digits += c;
    char *end = nullptr;
    errno = 0;
    long long value = digits.empty() ? 0 : std::strtoll(digits.c_str(), &end, base);
    if (!digits.empty() && !*end && errno == 0 && base >= 2 && base <= 36 && text.find("__") == std::string::npos)
      return Value::of(int64_t(value));
    std::optional<double> number = parseFloat(input.text);
    if (!number || std::isnan(*number))
      return fallback;
    return filterInt(Value::of(*number), args);
  }
  default:
    return fallback;
  }
}

Value filterFloat(const Value &input, CallArgs &args) {
  std::optional<Value> fallback = single("float", args, "default");
  if (input.isNumber())
    return Value::of(input.kind == Kind::Float ? input.number : double(toInteger(input, "float()'s value")));
  if (input.kind == Kind::String)
    if (std::optional<double> number = parseFloat(input.text))
      return Value::of(*number);
  return fallback ? *fallback : Value::of(0.0);
}

Value filterRound(const Value &input, CallArgs &args) {
  auto bound = bindArguments("round", args, {"precision", "method"}, 0);
  int64_t precision = bound[0] ? toInteger(*bound[0], "round()'s precision") : 0;
  std::string method = bound[1] ? pyStr(*bound[1]) : "common";
  if (!input.isNumber())
    fail("round(): expected a number, got " + typeName(input));
  if (method != "common" && method != "ceil" && method != "floor")
    fail("round()'s method must be 'common', 'ceil' or 'floor'");
  double value = input.kind == Kind::Float ? input.number : double(toInteger(input, "round()'s value"));
  if (method != "common") {
    double scale = std::pow(10.0, double(precision));
    return Value::of((method == "ceil" ? std::ceil(value * scale) : std::floor(value * scale)) / scale);
  }
  if (input.kind != Kind::Float && precision >= 0)
    return Value::of(toInteger(input, "round()'s value")); // int.__round__ keeps ints
  if (!std::isfinite(value) || precision > 300)
    return Value::of(value);
  if (precision < 0) {
    double scale = std::pow(10.0, double(-precision));
    return Value::of(std::nearbyint(value / scale) * scale);
  }
  // Python rounds the exact binary value half to even, as printf does.
  char buffer[400];
  std::snprintf(buffer, sizeof buffer, "%.*f", int(precision), value);
  return Value::of(std::strtod(buffer, nullptr));
}

Value filterIndent(const Value &input, CallArgs &args) {
  auto bound = bindArguments("indent", args, {"width", "first", "blank"}, 0);
  std::string indention =
      !bound[0] ? "    "
      : bound[0]->kind == Kind::String
          ? bound[0]->text
          : std::string(size_t(std::clamp<int64_t>(toInteger(*bound[0], "indent()'s width"), 0, 1 << 16)), ' ');
  bool first = bound[1] && truthy(*bound[1]), blank = bound[2] && truthy(*bound[2]);
  // str.splitlines() of the text plus a newline, as jinja2 does.
  std::u32string text = decodeUtf8(pyStr(input) + "\n");
  std::vector<std::string> lines;
  std::u32string line;
  for (size_t i = 0; i < text.size(); ++i) {
    char32_t c = text[i];
    bool lineBreak = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
                     c == 0x2028 || c == 0x2029;
    if (!lineBreak) {
      line += c;
      continue;
    }
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
      ++i;
    lines.push_back(encodeUtf8(line));
    line.clear();
  }
  std::string out = lines.empty() ? "" : lines[0];
  for (size_t i = 1; i < lines.size(); ++i)
    out += "\n" + (blank || !lines[i].empty() ? indention : "") + lines[i];
  return Value::of(first ? indention + out : out);
}

Value filterToJson(const Value &input, CallArgs &args) {
  auto bound = bindArguments("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"}, 0);
  std::optional<std::string> indent;
  if (bound[1] && bound[1]->kind == Kind::String)
    indent = bound[1]->text;
  else if (bound[1] && bound[1]->kind != Kind::None)
    indent = std::string(size_t(std::clamp<int64_t>(toInteger(*bound[1], "tojson()'s indent"), 0, 1 << 16)), ' ');
  std::optional<std::pair<std::string, std::string>> separators;
  if (bound[2] && bound[2]->kind != Kind::None) {
    if (!bound[2]->isSequence() || bound[2]->list->size() != 2 || (*bound[2]->list)[0].kind != Kind::String ||
        (*bound[2]->list)[1].kind != Kind::String)
      fail("tojson()'s separators must be a pair of strings");
    separators.emplace((*bound[2]->list)[0].text, (*bound[2]->list)[1].text);
  }
  std::string json = toJson(input, indent, separators, bound[3] && truthy(*bound[3]));
  if (!bound[0] || !truthy(*bound[0]))
    return Value::of(json);
  std::string ascii; // ensure_ascii=True: \uXXXX (surrogate pairs beyond the BMP)
  char buffer[16];
  for (char32_t c : decodeUtf8(json)) {
    if (c < 0x80) {
      ascii += char(c);
    } else if (c < 0x10000) {
      std::snprintf(buffer, sizeof buffer, "\\u%04x", unsigned(c));
      ascii += buffer;
    } else {
      std::snprintf(buffer, sizeof buffer, "\\u%04x\\u%04x", unsigned(0xd800 + ((c - 0x10000) >> 10)),
                    unsigned(0xdc00 + ((c - 0x10000) & 0x3ff)));
      ascii += buffer;
    }
  }
  return Value::of(ascii);
}

Value filterReplace(const Value &input, CallArgs &args) {
  auto bound = bindArguments("replace", args, {"old", "new", "count"}, 2);
  CallArgs methodArgs{{Value::of(pyStr(*bound[0])), Value::of(pyStr(*bound[1]))}, {}};
  if (bound[2] && bound[2]->kind != Kind::None)
    methodArgs.positional.push_back(*bound[2]);
  Value replace = getAttribute(Value::of(pyStr(input)), "replace");
  return replace.function->call(methodArgs);
}

Value filterReverse(const Value &input, CallArgs &args) {
  bindArguments("reverse", args, {}, 0);
  if (input.kind == Kind::String) {
    std::u32string chars = decodeUtf8(input.text);
    return Value::of(encodeUtf8(std::u32string(chars.rbegin(), chars.rend())));
  }
  List items = iterate(input);
  std::reverse(items.begin(), items.end());
  // reversed() of a list or dict is an iterator; of a generator, a list.
  return input.kind == Kind::Generator ? Value::ofList(std::move(items)) : Value::ofGenerator(std::move(items));
}

Value filterEscape(const Value &input, CallArgs &args) {
  bindArguments("escape", args, {}, 0);
  std::string out;
  for (char c : pyStr(input)) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&#34;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return Value::of(out);
}

template <Value (*Transform)(const Value &)> Value noArguments(const Value &input, CallArgs &args) {
  bindArguments("filter", args, {}, 0);
  return Transform(input);
}

Value stringOf(const Value &v) { return Value::of(pyStr(v)); }
Value upperOf(const Value &v) { return Value::of(pyUpper(pyStr(v))); }
Value lowerOf(const Value &v) { return Value::of(pyLower(pyStr(v))); }
Value capitalizeOf(const Value &v) { return Value::of(pyCapitalize(pyStr(v))); }
Value lengthOf(const Value &v) { return Value::of(length(v)); }
Value listOf(const Value &v) { return Value::ofList(iterate(v)); }

// jinja2's title: words start after '-', whitespace or an opening bracket.
Value titleOf(const Value &v) {
  std::u32string text = decodeUtf8(pyStr(v)), out;
  bool wordStart = true;
  for (char32_t c : text) {
    bool separator = isPythonSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    std::string piece = encodeUtf8(std::u32string(1, c));
    out += decodeUtf8(separator ? piece : wordStart ? pyUpper(piece) : pyLower(piece));
    wordStart = separator;
  }
  return Value::of(encodeUtf8(out));
}

Value absOf(const Value &v) {
  if (v.kind == Kind::Float)
    return Value::of(std::fabs(v.number));
  int64_t n = toInteger(v, "abs()'s value");
  if (n == INT64_MIN)
    fail("abs(): integer overflow");
  return Value::of(n < 0 ? -n : n);
}

Value itemsOf(const Value &v) {
  if (v.kind == Kind::Undefined)
    return Value::ofGenerator({});
  if (v.kind != Kind::Dict)
    fail("Can only get item pairs from a mapping.");
  List pairs;
  for (const auto &[key, value] : v.dict->entries)
    pairs.push_back(Value::ofList({key, value}, Kind::Tuple));
  return Value::ofGenerator(std::move(pairs));
}

Value filterTrim(const Value &input, CallArgs &args) {
  std::optional<Value> chars = single("trim", args, "chars");
  std::optional<std::string> set;
  if (chars && chars->kind != Kind::None)
    set = pyStr(*chars);
  return Value::of(pyStrip(pyStr(input), set, true, true));
}

const std::map<std::string, Filter> &filters() {
  static const std::map<std::string, Filter> table = {
      {"abs", noArguments<absOf>},
      {"capitalize", noArguments<capitalizeOf>},
      {"count", noArguments<lengthOf>},
      {"d", filterDefault},
      {"default", filterDefault},
      {"e", filterEscape},
      {"escape", filterEscape},
      {"first",
       [](const Value &v, CallArgs &a) { return bindArguments("first", a, {}, 0), filterFirstOrLast(v, true); }},
      {"float", filterFloat},
      {"indent", filterIndent},
      {"int", filterInt},
      {"items", noArguments<itemsOf>},
      {"join", filterJoin},
      {"last",
       [](const Value &v, CallArgs &a) { return bindArguments("last", a, {}, 0), filterFirstOrLast(v, false); }},
      {"length", noArguments<lengthOf>},
      {"list", noArguments<listOf>},
      {"lower", noArguments<lowerOf>},
      {"map", filterMap},
      {"reject", [](const Value &v, CallArgs &a) { return selectOrReject(v, a, false, false); }},
      {"rejectattr", [](const Value &v, CallArgs &a) { return selectOrReject(v, a, false, true); }},
      {"replace", filterReplace},
      {"reverse", filterReverse},
      {"round", filterRound},
      {"safe", noArguments<stringOf>},
      {"select", [](const Value &v, CallArgs &a) { return selectOrReject(v, a, true, false); }},
      {"selectattr", [](const Value &v, CallArgs &a) { return selectOrReject(v, a, true, true); }},
      {"sort", filterSort},
      {"string", noArguments<stringOf>},
      {"title", noArguments<titleOf>},
      {"tojson", filterToJson},
      {"trim", filterTrim},
      {"unique", filterUnique},
      {"upper", noArguments<upperOf>},
  };
  return table;
}

} // namespace

bool isFilter(const std::string &name) { return filters().count(name) != 0; }

std::string unsupportedFilterNote(const std::string &name) {
  static const std::set<std::string> jinjaFilters = {
      "attr",    "batch",    "center",    "dictsort", "filesizeformat", "forceescape", "format",
      "groupby", "max",      "min",       "pprint",   "random",         "slice",       "striptags",
      "sum",     "truncate", "urlencode", "urlize",   "wordcount",      "wordwrap",    "xmlattr"};
  return jinjaFilters.count(name) ? "the filter '" + name + "' is not supported by ember's chat template engine" : "";
}

Value applyFilter(const std::string &name, const Value &input, CallArgs &args) {
  auto found = filters().find(name);
  if (found == filters().end())
    fail("no filter named '" + name + "'");
  return found->second(input, args);
}

} // namespace ember::rt::chat
