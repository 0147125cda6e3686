// Python semantics of the chat template engine's values: construction,
// truth, comparisons, iteration and lengths, JSON input, UTF-8.

#include "ChatTemplateValue.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace ember::rt::chat {

void fail(std::string message) { throw Failure{std::move(message)}; }

void checkNesting(int depth) {
  if (depth > kMaxNesting)
    fail("a value nested deeper than " + std::to_string(kMaxNesting) + " levels (or containing itself)");
}

namespace {

// -1, 0 or 1 as Python orders a and b; fails where Python raises TypeError.
int order(const Value &a, const Value &b, int depth) {
  checkNesting(depth);
  if (a.isNumber() && b.isNumber()) {
    if (a.kind != Kind::Float && b.kind != Kind::Float) {
      int64_t x = a.kind == Kind::Bool ? a.boolean : a.integer, y = b.kind == Kind::Bool ? b.boolean : b.integer;
      return x < y ? -1 : x > y;
    }
    double x = a.kind == Kind::Float ? a.number : double(a.kind == Kind::Bool ? a.boolean : a.integer);
    double y = b.kind == Kind::Float ? b.number : double(b.kind == Kind::Bool ? b.boolean : b.integer);
    return x < y ? -1 : x > y;
  }
  if (a.kind == Kind::String && b.kind == Kind::String)
    return a.text.compare(b.text) < 0 ? -1 : a.text != b.text; // UTF-8 bytes order as code points do
  if (a.isSequence() && a.kind == b.kind) {
    for (size_t i = 0; i < a.list->size() && i < b.list->size(); ++i)
      if (int o = order((*a.list)[i], (*b.list)[i], depth + 1))
        return o;
    return a.list->size() < b.list->size() ? -1 : a.list->size() > b.list->size();
  }
  if (a.kind == Kind::Undefined)
    fail(a.text);
  if (b.kind == Kind::Undefined)
    fail(b.text);
  fail("'<' not supported between instances of '" + typeName(a) + "' and '" + typeName(b) + "'");
}

bool equalsAt(const Value &a, const Value &b, int depth) {
  checkNesting(depth);
  if (a.isNumber() && b.isNumber())
    return order(a, b, depth) == 0;
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case Kind::Undefined:
  case Kind::None:
    return true;
  case Kind::String:
    return a.text == b.text;
  case Kind::List:
  case Kind::Tuple:
    if (a.list->size() != b.list->size())
      return false;
    for (size_t i = 0; i < a.list->size(); ++i)
      if (!equalsAt((*a.list)[i], (*b.list)[i], depth + 1))
        return false;
    return true;
  case Kind::Dict:
    if (a.dict->entries.size() != b.dict->entries.size())
      return false;
    for (const auto &[key, value] : a.dict->entries) {
      const Value *other = b.dict->find(key);
      if (!other || !equalsAt(value, *other, depth + 1))
        return false;
    }
    return true;
  case Kind::Namespace:
    return a.dict == b.dict;
  case Kind::Function:
    return a.function == b.function;
  case Kind::Generator:
    return a.generator == b.generator;
  default:
    return false;
  }
}

} // namespace

Value Value::undefined(std::string why) {
  Value value;
  value.text = std::move(why);
  return value;
}
Value Value::none() {
  Value value;
  value.kind = Kind::None;
  return value;
}
Value Value::of(bool b) {
  Value value;
  value.kind = Kind::Bool;
  value.boolean = b;
  return value;
}
Value Value::of(int64_t i) {
  Value value;
  value.kind = Kind::Int;
  value.integer = i;
  return value;
}
Value Value::of(double d) {
  Value value;
  value.kind = Kind::Float;
  value.number = d;
  return value;
}
Value Value::of(std::string s) {
  if (s.size() > kMaxValueSize)
    fail("a string longer than " + std::to_string(kMaxValueSize) + " bytes");
  Value value;
  value.kind = Kind::String;
  value.text = std::move(s);
  return value;
}
Value Value::ofList(List items, Kind kind) {
  if (items.size() > kMaxValueSize)
    fail("a list longer than " + std::to_string(kMaxValueSize) + " items");
  Value value;
  value.kind = kind;
  value.list = std::make_shared<const List>(std::move(items));
  return value;
}
Value Value::ofDict(std::shared_ptr<Dict> dict, Kind kind) {
  Value value;
  value.kind = kind;
  value.dict = std::move(dict);
  return value;
}
Value Value::ofFunction(std::string name, std::function<Value(CallArgs &)> call) {
  Value value;
  value.kind = Kind::Function;
  value.function = std::make_shared<const Function>(Function{std::move(name), std::move(call)});
  return value;
}
Value Value::ofGenerator(List items) {
  Value value;
  value.kind = Kind::Generator;
  value.generator = std::make_shared<GeneratorState>(GeneratorState{std::move(items), 0});
  return value;
}

const Value *Dict::find(const Value &key) const {
  for (const auto &entry : entries)
    if (equals(entry.first, key))
      return &entry.second;
  return nullptr;
}

void Dict::set(Value key, Value value) {
  for (auto &entry : entries)
    if (equals(entry.first, key)) {
      entry.second = std::move(value);
      return;
    }
  entries.emplace_back(std::move(key), std::move(value));
}

std::vector<std::optional<Value>> bindArguments(const std::string &function, CallArgs &args,
                                                const std::vector<const char *> &parameters, size_t required) {
  if (args.positional.size() > parameters.size())
    fail(function + "() takes at most " + std::to_string(parameters.size()) + " argument(s), got " +
         std::to_string(args.positional.size()));
  std::vector<std::optional<Value>> bound(parameters.size());
  for (size_t i = 0; i < args.positional.size(); ++i)
    bound[i] = std::move(args.positional[i]);
  for (auto &[name, value] : args.keywords) {
    const std::string &keyword = name; // C++17 lambdas cannot capture structured bindings
    auto it = std::find_if(parameters.begin(), parameters.end(), [&](const char *p) { return keyword == p; });
    if (it == parameters.end())
      fail(function + "() got an unexpected keyword argument '" + name + "'");
    std::optional<Value> &slot = bound[size_t(it - parameters.begin())];
    if (slot)
      fail(function + "() got multiple values for argument '" + name + "'");
    slot = std::move(value);
  }
  for (size_t i = 0; i < required; ++i)
    if (!bound[i])
      fail(function + "() missing required argument '" + parameters[i] + "'");
  return bound;
}

std::string typeName(const Value &value) {
  switch (value.kind) {
  case Kind::Undefined:
    return "Undefined";
  case Kind::None:
    return "NoneType";
  case Kind::Bool:
    return "bool";
  case Kind::Int:
    return "int";
  case Kind::Float:
    return "float";
  case Kind::String:
    return "str";
  case Kind::List:
    return value.text.empty() ? "list" : value.text.substr(0, value.text.find('('));
  case Kind::Tuple:
    return "tuple";
  case Kind::Dict:
    return "dict";
  case Kind::Namespace:
    return "Namespace";
  case Kind::Function:
    return "function";
  case Kind::Generator:
    return "generator";
  }
  return "?";
}

bool truthy(const Value &value) {
  switch (value.kind) {
  case Kind::Undefined:
  case Kind::None:
    return false;
  case Kind::Bool:
    return value.boolean;
  case Kind::Int:
    return value.integer != 0;
  case Kind::Float:
    return value.number != 0;
  case Kind::String:
    return !value.text.empty();
  case Kind::List:
  case Kind::Tuple:
    return !value.list->empty();
  case Kind::Dict:
    return !value.dict->entries.empty();
  default:
    return true; // namespaces, functions and generators are objects
  }
}

bool equals(const Value &a, const Value &b) { return equalsAt(a, b, 0); }

bool lessThan(const Value &a, const Value &b) {
  if ((a.kind == Kind::Float && std::isnan(a.number)) || (b.kind == Kind::Float && std::isnan(b.number)))
    return false;
  return order(a, b, 0) < 0;
}

List iterate(const Value &value) {
  switch (value.kind) {
  case Kind::Undefined:
    return {};
  case Kind::List:
  case Kind::Tuple:
    return *value.list;
  case Kind::Dict: {
    List keys;
    for (const auto &entry : value.dict->entries)
      keys.push_back(entry.first);
    return keys;
  }
  case Kind::String: {
    List characters;
    for (char32_t c : decodeUtf8(value.text))
      characters.push_back(Value::of(encodeUtf8(std::u32string(1, c))));
    return characters;
  }
  case Kind::Generator: {
    GeneratorState &state = *value.generator;
    List rest(state.items.begin() + std::ptrdiff_t(state.next), state.items.end());
    state.next = state.items.size();
    return rest;
  }
  default:
    fail("'" + typeName(value) + "' object is not iterable");
  }
}

int64_t length(const Value &value) {
  switch (value.kind) {
  case Kind::Undefined:
    return 0;
  case Kind::String:
    return int64_t(decodeUtf8(value.text).size());
  case Kind::List:
  case Kind::Tuple:
    return int64_t(value.list->size());
  case Kind::Dict:
    return int64_t(value.dict->entries.size());
  default:
    fail("object of type '" + typeName(value) + "' has no len()");
  }
}

bool contains(const Value &container, const Value &item) {
  switch (container.kind) {
  case Kind::String:
    if (item.kind != Kind::String)
      fail("'in <string>' requires string as left operand, not " + typeName(item));
    return container.text.find(item.text) != std::string::npos;
  case Kind::Dict:
    return container.dict->find(item) != nullptr;
  case Kind::Undefined:
  case Kind::List:
  case Kind::Tuple:
  case Kind::Generator:
    for (const Value &element : iterate(container))
      if (equals(element, item))
        return true;
    return false;
  default:
    fail("argument of type '" + typeName(container) + "' is not iterable");
  }
}

bool compare(const std::string &op, const Value &a, const Value &b) {
  if (op == "==")
    return equals(a, b);
  if (op == "!=")
    return !equals(a, b);
  if (op == "in")
    return contains(b, a);
  if (op == "not in")
    return !contains(b, a);
  if (op == "<")
    return lessThan(a, b);
  if (op == ">")
    return lessThan(b, a);
  if (op == "<=")
    return lessThan(a, b) || equals(a, b);
  return lessThan(b, a) || equals(a, b);
}

int64_t toInteger(const Value &value, const std::string &what) {
  if (value.kind == Kind::Int)
    return value.integer;
  if (value.kind == Kind::Bool)
    return value.boolean;
  if (value.kind == Kind::Undefined)
    fail(value.text);
  fail(what + " must be an integer, got " + typeName(value));
}

Value fromJson(const nlohmann::ordered_json &json) {
  switch (json.type()) {
  case nlohmann::ordered_json::value_t::null:
    return Value::none();
  case nlohmann::ordered_json::value_t::boolean:
    return Value::of(json.get<bool>());
  case nlohmann::ordered_json::value_t::number_integer:
    return Value::of(json.get<int64_t>());
  case nlohmann::ordered_json::value_t::number_unsigned:
    if (json.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      fail("the integer " + json.dump() + " is beyond 64 bits");
    return Value::of(int64_t(json.get<uint64_t>()));
  case nlohmann::ordered_json::value_t::number_float:
    return Value::of(json.get<double>());
  case nlohmann::ordered_json::value_t::string:
    return Value::of(json.get<std::string>());
  case nlohmann::ordered_json::value_t::array: {
    List items;
    for (const auto &item : json)
      items.push_back(fromJson(item));
    return Value::ofList(std::move(items));
  }
  case nlohmann::ordered_json::value_t::object: {
    auto dict = std::make_shared<Dict>();
    for (const auto &[key, item] : json.items())
      dict->entries.emplace_back(Value::of(key), fromJson(item));
    return Value::ofDict(std::move(dict));
  }
  default:
    fail("a JSON value of type " + std::string(json.type_name()) + " cannot be a template variable");
  }
}

std::u32string decodeUtf8(const std::string &text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    unsigned char lead = static_cast<unsigned char>(text[i]);
    size_t extra = lead < 0x80 ? 0 : (lead >> 5) == 6 ? 1 : (lead >> 4) == 14 ? 2 : (lead >> 3) == 30 ? 3 : 4;
    char32_t c = extra == 0 ? lead : extra == 1 ? (lead & 0x1f) : extra == 2 ? (lead & 0x0f) : (lead & 0x07);
    bool valid = extra < 4;
    for (size_t k = 1; valid && k <= extra; ++k) {
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80)
        valid = false;
      else
        c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    }
    if (!valid) {
      out += char32_t(0xfffd);
      ++i;
      continue;
    }
    out += c;
    i += extra + 1;
  }
  return out;
}

std::string encodeUtf8(const std::u32string &text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c < 0x80) {
      out += char(c);
    } else if (c < 0x800) {
      out += char(0xc0 | (c >> 6));
      out += char(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out += char(0xe0 | (c >> 12));
      out += char(0x80 | ((c >> 6) & 0x3f));
      out += char(0x80 | (c & 0x3f));
    } else {
      out += char(0xf0 | (c >> 18));
      out += char(0x80 | ((c >> 12) & 0x3f));
      out += char(0x80 | ((c >> 6) & 0x3f));
      out += char(0x80 | (c & 0x3f));
    }
  }
  return out;
}

bool isPythonSpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

} // namespace ember::rt::chat
