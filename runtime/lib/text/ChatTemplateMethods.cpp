// obj.attr, obj[key] and obj[a:b:c] as jinja2's immutable sandbox resolves
// them, the str/dict/list methods chat templates call, and the globals HF
// adds (raise_exception, strftime_now) beside jinja2's (namespace, range,
// dict).

#include "ChatTemplateAst.h"

#include <algorithm>
#include <ctime>
#include <set>

namespace ember::rt::chat {

namespace {

// jinja2's sandbox refuses ranges longer than this (MAX_RANGE).
constexpr int64_t kMaxRange = 100000;

// Python's case mapping for the scripts chat text mostly uses (Latin,
// Greek, Cyrillic); other characters are left as they are.
char32_t upperOf(char32_t c) {
  if ((c >= 'a' && c <= 'z') || (c >= 0xe0 && c <= 0xfe && c != 0xf7) || (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) ||
      (c >= 0x430 && c <= 0x44f))
    return c - 0x20;
  if (c == 0x3c2)
    return 0x3a3;
  if (c >= 0x450 && c <= 0x45f)
    return c - 0x50;
  if (c == 0xff)
    return 0x178;
  if (((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) && (c & 1))
    return c - 1;
  if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) && !(c & 1))
    return c - 1;
  return c;
}

char32_t lowerOf(char32_t c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) ||
      (c >= 0x410 && c <= 0x42f))
    return c + 0x20;
  if (c >= 0x400 && c <= 0x40f)
    return c + 0x50;
  if (c == 0x178)
    return 0xff;
  if (((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) && !(c & 1))
    return c + 1;
  if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) && (c & 1))
    return c + 1;
  return c;
}

bool isCased(char32_t c) { return upperOf(c) != c || lowerOf(c) != c || c == 0xdf; }

std::u32string upperText(const std::u32string &text) {
  std::u32string out;
  for (char32_t c : text) {
    if (c == 0xdf)
      out += U"SS"; // 'ß'.upper()
    else
      out += upperOf(c);
  }
  return out;
}

std::u32string lowerText(const std::u32string &text) {
  std::u32string out;
  for (char32_t c : text)
    out += lowerOf(c);
  return out;
}

// Python's str.title(): a cased character after a cased one is lowered, others raised.
std::string titleText(const std::string &text) {
  std::u32string out;
  bool previousCased = false;
  for (char32_t c : decodeUtf8(text)) {
    out += previousCased ? std::u32string(1, lowerOf(c)) : upperText(std::u32string(1, c));
    previousCased = isCased(c);
  }
  return encodeUtf8(out);
}

std::string stringArgument(const std::optional<Value> &value, const std::string &what) {
  if (!value || value->kind != Kind::String)
    fail(what + " must be a string, got " + (value ? typeName(*value) : "nothing"));
  return value->text;
}

// Python's str.split / str.rsplit (sep None: runs of whitespace).
Value splitText(const std::string &text, const std::optional<Value> &separator, int64_t maxSplit, bool fromRight) {
  std::u32string chars = decodeUtf8(text);
  std::vector<std::u32string> parts;
  if (!separator || separator->kind == Kind::None) {
    std::vector<std::pair<size_t, size_t>> words; // [begin, end) of each whitespace-separated word
    for (size_t i = 0; i < chars.size();) {
      while (i < chars.size() && isPythonSpace(chars[i]))
        ++i;
      size_t begin = i;
      while (i < chars.size() && !isPythonSpace(chars[i]))
        ++i;
      if (i > begin)
        words.emplace_back(begin, i);
    }
    size_t count = words.size();
    bool limited = maxSplit >= 0 && count > size_t(maxSplit);
    if (!limited) {
      for (const auto &[begin, end] : words)
        parts.push_back(chars.substr(begin, end - begin));
    } else if (fromRight) { // the rest keeps its leading whitespace, as Python's
      size_t restEnd = words[count - size_t(maxSplit) - 1].second;
      parts.push_back(chars.substr(0, restEnd));
      for (size_t k = count - size_t(maxSplit); k < count; ++k)
        parts.push_back(chars.substr(words[k].first, words[k].second - words[k].first));
    } else { // the rest keeps its trailing whitespace
      for (size_t k = 0; k < size_t(maxSplit); ++k)
        parts.push_back(chars.substr(words[k].first, words[k].second - words[k].first));
      parts.push_back(chars.substr(words[size_t(maxSplit)].first));
    }
  } else {
    std::u32string sep = decodeUtf8(stringArgument(separator, "split()'s separator"));
    if (sep.empty())
      fail("split(): empty separator");
    std::vector<size_t> cuts;
    for (size_t at = chars.find(sep); at != std::u32string::npos; at = chars.find(sep, at + sep.size()))
      cuts.push_back(at);
    if (maxSplit >= 0 && cuts.size() > size_t(maxSplit)) {
      if (fromRight)
        cuts.erase(cuts.begin(), cuts.end() - maxSplit);
      else
        cuts.resize(size_t(maxSplit));
    }
    size_t begin = 0;
    for (size_t cut : cuts) {
      parts.push_back(chars.substr(begin, cut - begin));
      begin = cut + sep.size();
    }
    parts.push_back(chars.substr(begin));
  }
  List items;
  for (const std::u32string &part : parts)
    items.push_back(Value::of(encodeUtf8(part)));
  return Value::ofList(std::move(items));
}

bool affixMatches(const std::string &text, const Value &affix, bool prefix) {
  if (affix.kind == Kind::Tuple) {
    for (const Value &item : *affix.list)
      if (affixMatches(text, item, prefix))
        return true;
    return false;
  }
  std::string wanted = stringArgument(affix, prefix ? "startswith()'s argument" : "endswith()'s argument");
  if (wanted.size() > text.size())
    return false;
  return prefix ? text.compare(0, wanted.size(), wanted) == 0
                : text.compare(text.size() - wanted.size(), wanted.size(), wanted) == 0;
}

std::string replaceText(const std::string &text, const std::string &old, const std::string &replacement,
                        int64_t count) {
  std::string out;
  if (old.empty()) { // Python inserts the replacement around every character
    std::u32string chars = decodeUtf8(text);
    for (size_t i = 0; i <= chars.size(); ++i) {
      if (count < 0 || int64_t(i) < count)
        out += replacement;
      if (i < chars.size())
        out += encodeUtf8(std::u32string(1, chars[i]));
    }
    return out;
  }
  size_t begin = 0;
  for (int64_t done = 0; count < 0 || done < count; ++done) {
    size_t at = text.find(old, begin);
    if (at == std::string::npos)
      break;
    out += text.substr(begin, at - begin) + replacement;
    begin = at + old.size();
    if (out.size() > kMaxValueSize)
      fail("replace(): the result is longer than " + std::to_string(kMaxValueSize) + " bytes");
  }
  return out + text.substr(begin);
}

int64_t findText(const std::string &text, const std::string &needle, bool fromRight) {
  size_t at = fromRight ? text.rfind(needle) : text.find(needle);
  if (at == std::string::npos)
    return -1;
  return int64_t(decodeUtf8(text.substr(0, at)).size());
}

template <typename Test> Value allCharacters(const std::string &text, Test test) {
  std::u32string chars = decodeUtf8(text);
  return Value::of(!chars.empty() && std::all_of(chars.begin(), chars.end(), test));
}

Value method(const Value &self, const std::string &name, std::function<Value(const Value &, CallArgs &)> body) {
  return Value::ofFunction(name, [self, body](CallArgs &args) { return body(self, args); });
}

// jinja2's immutable sandbox: reading a mutating method gives an undefined
// that fails when called.
Value unsafe(const Value &object, const std::string &name) {
  return Value::undefined("access to attribute '" + name + "' of '" + typeName(object) + "' object is unsafe.");
}

Value stringMethod(const Value &self, const std::string &name) {
  using Args = CallArgs;
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return method(self, name, [name](const Value &s, Args &args) {
      auto bound = bindArguments(name, args, {"chars"}, 0);
      std::optional<std::string> chars;
      if (bound[0] && bound[0]->kind != Kind::None)
        chars = stringArgument(bound[0], name + "()'s argument");
      return Value::of(pyStrip(s.text, chars, name != "rstrip", name != "lstrip"));
    });
  if (name == "split" || name == "rsplit")
    return method(self, name, [name](const Value &s, Args &args) {
      auto bound = bindArguments(name, args, {"sep", "maxsplit"}, 0);
      return splitText(s.text, bound[0], bound[1] ? toInteger(*bound[1], "maxsplit") : -1, name == "rsplit");
    });
  if (name == "startswith" || name == "endswith")
    return method(self, name, [name](const Value &s, Args &args) {
      auto bound = bindArguments(name, args, {"affix"}, 1);
      return Value::of(affixMatches(s.text, *bound[0], name == "startswith"));
    });
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize")
    return method(self, name, [name](const Value &s, Args &args) {
      bindArguments(name, args, {}, 0);
      return Value::of(name == "upper"   ? pyUpper(s.text)
                       : name == "lower" ? pyLower(s.text)
                       : name == "title" ? titleText(s.text)
                                         : pyCapitalize(s.text));
    });
  if (name == "replace")
    return method(self, name, [](const Value &s, Args &args) {
      auto bound = bindArguments("replace", args, {"old", "new", "count"}, 2);
      return Value::of(replaceText(s.text, stringArgument(bound[0], "replace()'s old"),
                                   stringArgument(bound[1], "replace()'s new"),
                                   bound[2] ? toInteger(*bound[2], "replace()'s count") : -1));
    });
  if (name == "find" || name == "rfind" || name == "count")
    return method(self, name, [name](const Value &s, Args &args) {
      std::string needle = stringArgument(bindArguments(name, args, {"sub"}, 1)[0], name + "()'s argument");
      if (name != "count")
        return Value::of(findText(s.text, needle, name == "rfind"));
      if (needle.empty())
        return Value::of(int64_t(decodeUtf8(s.text).size()) + 1);
      int64_t count = 0;
      for (size_t at = s.text.find(needle); at != std::string::npos; at = s.text.find(needle, at + needle.size()))
        ++count;
      return Value::of(count);
    });
  if (name == "join")
    return method(self, name, [](const Value &s, Args &args) {
      auto bound = bindArguments("join", args, {"iterable"}, 1);
      std::string out;
      bool first = true;
      for (const Value &item : iterate(*bound[0])) {
        if (item.kind != Kind::String)
          fail("join(): expected str items, got " + typeName(item));
        out += (first ? "" : s.text) + item.text;
        first = false;
      }
      return Value::of(out);
    });
  if (name == "isdigit" || name == "isspace" || name == "islower" || name == "isupper")
    return method(self, name, [name](const Value &s, Args &args) {
      bindArguments(name, args, {}, 0);
      if (name == "isspace")
        return allCharacters(s.text, isPythonSpace);
      if (name == "isdigit")
        return allCharacters(s.text, [](char32_t c) { return c >= '0' && c <= '9'; });
      std::u32string chars = decodeUtf8(s.text);
      bool anyCased = std::any_of(chars.begin(), chars.end(), isCased);
      return Value::of(anyCased && (name == "islower" ? lowerText(chars) == chars : upperText(chars) == chars));
    });
  if (name == "format")
    return method(self, name, [](const Value &, Args &) -> Value {
      fail("str.format() is not supported by ember's chat template engine");
    });
  return Value::undefined("'str object' has no attribute '" + name + "'");
}

Value dictMethod(const Value &self, const std::string &name) {
  if (name == "items" || name == "keys" || name == "values")
    return method(self, name, [name](const Value &d, CallArgs &args) {
      bindArguments(name, args, {}, 0);
      List items;
      for (const auto &[key, value] : d.dict->entries)
        items.push_back(name == "keys" ? key : name == "values" ? value : Value::ofList({key, value}, Kind::Tuple));
      Value view = Value::ofList(std::move(items));
      view.text = "dict_" + name;
      return view;
    });
  if (name == "get")
    return method(self, name, [](const Value &d, CallArgs &args) {
      auto bound = bindArguments("get", args, {"key", "default"}, 1);
      const Value *found = d.dict->find(*bound[0]);
      return found ? *found : bound[1] ? *bound[1] : Value::none();
    });
  if (name == "copy")
    return method(self, name, [](const Value &d, CallArgs &args) {
      bindArguments("copy", args, {}, 0);
      return Value::ofDict(std::make_shared<Dict>(*d.dict));
    });
  return Value();
}

int64_t clampIndex(int64_t index, int64_t size, int64_t low, int64_t high) {
  if (index < 0)
    index += size;
  return std::clamp(index, low, high);
}

Value makeNamespace(CallArgs &args) {
  auto attributes = std::make_shared<Dict>();
  if (args.positional.size() > 1)
    fail("namespace() takes at most one positional argument (a dict)");
  if (!args.positional.empty()) {
    if (args.positional[0].kind != Kind::Dict)
      fail("namespace()'s positional argument must be a dict, got " + typeName(args.positional[0]));
    *attributes = *args.positional[0].dict;
  }
  for (auto &[key, value] : args.keywords)
    attributes->set(Value::of(key), value);
  return Value::ofDict(attributes, Kind::Namespace);
}

Value makeRange(CallArgs &args) {
  if (!args.keywords.empty() || args.positional.empty() || args.positional.size() > 3)
    fail("range() takes 1 to 3 integer arguments");
  std::vector<int64_t> numbers;
  for (const Value &argument : args.positional)
    numbers.push_back(toInteger(argument, "range()'s argument"));
  int64_t start = numbers.size() > 1 ? numbers[0] : 0, stop = numbers.size() > 1 ? numbers[1] : numbers[0];
  int64_t step = numbers.size() > 2 ? numbers[2] : 1;
  if (step == 0)
    fail("range() arg 3 must not be zero");
  long double count = step > 0 ? (stop > start ? ((long double)stop - start + step - 1) / step : 0)
                               : (start > stop ? ((long double)start - stop - step - 1) / -step : 0);
  if (count > kMaxRange)
    fail("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  List items;
  for (int64_t i = 0; i < int64_t(count); ++i)
    items.push_back(Value::of(start + i * step));
  Value range = Value::ofList(std::move(items));
  range.text = "range(" + std::to_string(start) + ", " + std::to_string(stop) +
               (step != 1 ? ", " + std::to_string(step) : "") + ")";
  return range;
}

} // namespace

std::string pyStrip(const std::string &text, const std::optional<std::string> &characters, bool left, bool right) {
  std::u32string chars = decodeUtf8(text);
  std::u32string set = characters ? decodeUtf8(*characters) : U"";
  auto strips = [&](char32_t c) { return characters ? set.find(c) != std::u32string::npos : isPythonSpace(c); };
  size_t begin = 0, end = chars.size();
  while (left && begin < end && strips(chars[begin]))
    ++begin;
  while (right && end > begin && strips(chars[end - 1]))
    --end;
  return encodeUtf8(chars.substr(begin, end - begin));
}

std::string pyUpper(const std::string &text) { return encodeUtf8(upperText(decodeUtf8(text))); }
std::string pyLower(const std::string &text) { return encodeUtf8(lowerText(decodeUtf8(text))); }

std::string pyCapitalize(const std::string &text) {
  std::u32string chars = lowerText(decodeUtf8(text));
  if (chars.empty())
    return "";
  std::u32string first = upperText(decodeUtf8(text).substr(0, 1));
  return encodeUtf8(first + chars.substr(1));
}

Value getAttribute(const Value &object, const std::string &name) {
  switch (object.kind) {
  case Kind::Undefined:
    fail(object.text);
  case Kind::String:
    return name.rfind("_", 0) == 0 ? unsafe(object, name) : stringMethod(object, name);
  case Kind::Dict: {
    if (name.rfind("__", 0) == 0)
      return unsafe(object, name);
    static const std::set<std::string> kMutating = {"pop", "popitem", "setdefault", "update", "clear"};
    if (kMutating.count(name))
      return unsafe(object, name);
    Value found = dictMethod(object, name);
    if (found.kind == Kind::Function)
      return found;
    if (const Value *value = object.dict->find(Value::of(name)))
      return *value;
    return Value::undefined("'dict object' has no attribute '" + name + "'");
  }
  case Kind::Namespace:
    if (const Value *value = object.dict->find(Value::of(name)))
      return *value;
    return Value::undefined("'Namespace object' has no attribute '" + name + "'");
  case Kind::List:
  case Kind::Tuple: {
    static const std::set<std::string> kMutating = {"append", "extend",  "insert", "pop",
                                                    "remove", "reverse", "sort",   "clear"};
    if (kMutating.count(name) || name.rfind("_", 0) == 0)
      return unsafe(object, name);
    return Value::undefined("'" + typeName(object) + " object' has no attribute '" + name + "'");
  }
  case Kind::None:
    return Value::undefined("'None' has no attribute '" + name + "'");
  default:
    return Value::undefined("'" + typeName(object) + " object' has no attribute '" + name + "'");
  }
}

Value getItem(const Value &object, const Value &key) {
  if (object.kind == Kind::Undefined)
    fail(object.text);
  if (object.kind == Kind::Dict) {
    if (key.kind == Kind::List || key.kind == Kind::Dict)
      fail("unhashable type: '" + typeName(key) + "'");
    if (const Value *value = object.dict->find(key))
      return *value;
  }
  bool isIndex = key.kind == Kind::Int || key.kind == Kind::Bool;
  if (isIndex && (object.isSequence() || object.kind == Kind::String)) {
    int64_t index = toInteger(key, "an index");
    if (object.kind == Kind::String) {
      std::u32string chars = decodeUtf8(object.text);
      int64_t size = int64_t(chars.size());
      if (index >= -size && index < size)
        return Value::of(encodeUtf8(chars.substr(size_t(index < 0 ? index + size : index), 1)));
    } else {
      int64_t size = int64_t(object.list->size());
      if (index >= -size && index < size)
        return (*object.list)[size_t(index < 0 ? index + size : index)];
    }
    return Value::undefined(typeName(object) + " object has no element " + std::to_string(index));
  }
  if (key.kind == Kind::String)
    return getAttribute(object, key.text); // jinja2 falls back to the attribute
  return Value::undefined("'" + typeName(object) + " object' has no element " + pyStr(key));
}

Value getSlice(const Value &object, std::optional<int64_t> start, std::optional<int64_t> stop,
               std::optional<int64_t> step) {
  if (object.kind == Kind::Undefined)
    fail(object.text);
  int64_t stride = step.value_or(1);
  if (stride == 0)
    fail("slice step cannot be zero");
  bool isString = object.kind == Kind::String;
  if (!isString && !object.isSequence())
    return Value::undefined("'" + typeName(object) + "' object is not subscriptable");
  std::u32string chars = isString ? decodeUtf8(object.text) : U"";
  int64_t size = isString ? int64_t(chars.size()) : int64_t(object.list->size());
  // Python's slice.indices().
  int64_t first = stride > 0 ? clampIndex(start.value_or(0), size, 0, size)
                             : (start ? clampIndex(*start, size, -1, size - 1) : size - 1);
  int64_t last = stride > 0 ? (stop ? clampIndex(*stop, size, 0, size) : size)
                            : (stop ? clampIndex(*stop, size, -1, size - 1) : -1);
  std::u32string text;
  List items;
  for (int64_t i = first; stride > 0 ? i < last : i > last; i += stride) {
    if (isString)
      text += chars[size_t(i)];
    else
      items.push_back((*object.list)[size_t(i)]);
  }
  return isString ? Value::of(encodeUtf8(text)) : Value::ofList(std::move(items), object.kind);
}

void addGlobals(Dict &globals) {
  globals.set(Value::of("raise_exception"), Value::ofFunction("raise_exception", [](CallArgs &args) -> Value {
                auto bound = bindArguments("raise_exception", args, {"message"}, 1);
                throw Failure{pyStr(*bound[0]), 0, 0, true};
              }));
  globals.set(Value::of("namespace"), Value::ofFunction("namespace", makeNamespace));
  globals.set(Value::of("range"), Value::ofFunction("range", makeRange));
  globals.set(Value::of("dict"), Value::ofFunction("dict", [](CallArgs &args) {
                Value made = makeNamespace(args);
                made.kind = Kind::Dict;
                return made;
              }));
  globals.set(Value::of("strftime_now"), Value::ofFunction("strftime_now", [](CallArgs &args) {
                std::string format =
                    stringArgument(bindArguments("strftime_now", args, {"format"}, 1)[0], "strftime_now()'s format");
                std::time_t now = std::time(nullptr);
                std::tm local{};
                localtime_r(&now, &local);
                char buffer[512];
                size_t written = std::strftime(buffer, sizeof buffer, format.c_str(), &local);
                if (written == 0 && !format.empty())
                  fail("strftime_now(): the format gives no text or more than 511 bytes");
                return Value::of(std::string(buffer, written));
              }));
}

} // namespace ember::rt::chat
