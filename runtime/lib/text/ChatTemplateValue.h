#pragma once

// Values of ember's Jinja engine (runtime/lib/text/ChatTemplate*.cpp) with the
// Python semantics jinja2 gives them: Undefined, None, bool, int, float,
// str, list, tuple, dict, namespace(), functions and one-shot generators
// (what map/select/unique return), printed, compared and serialized as
// Python and HF's tojson do. Private to the runtime library.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ember::rt::chat {

// A template error before the evaluator gives it a place: `line` 0 until the
// innermost node that saw it sets line and column. `raised` marks
// raise_exception's.
struct Failure {
  std::string message;
  int line = 0, column = 0;
  bool raised = false;
};
[[noreturn]] void fail(std::string message);

// Self-referencing namespaces and deep nesting fail instead of overflowing
// the stack in printing and comparing.
inline constexpr int kMaxNesting = 256;
void checkNesting(int depth);

enum class Kind { Undefined, None, Bool, Int, Float, String, List, Tuple, Dict, Namespace, Function, Generator };

struct Value;
using List = std::vector<Value>;
struct Dict;
struct Function;
struct GeneratorState;

struct Value {
  Kind kind = Kind::Undefined;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  // String: the UTF-8 text. Undefined: the message jinja2 raises when it is
  // used (e.g. "'x' is undefined"). List: a dict view's type name
  // ("dict_items") or a range's whole repr ("range(0, 3)"), else empty.
  std::string text;
  std::shared_ptr<const List> list; // List, Tuple
  std::shared_ptr<Dict> dict;       // Dict (never changed once built), Namespace (set ns.x = ...)
  std::shared_ptr<const Function> function;
  std::shared_ptr<GeneratorState> generator;

  static Value undefined(std::string why);
  static Value none();
  static Value of(bool value);
  static Value of(int64_t value);
  static Value of(double value);
  static Value of(std::string value);
  static Value of(const char *value) { return of(std::string(value)); }
  static Value ofList(List items, Kind kind = Kind::List);
  static Value ofDict(std::shared_ptr<Dict> dict, Kind kind = Kind::Dict);
  static Value ofFunction(std::string name, std::function<Value(struct CallArgs &)> call);
  static Value ofGenerator(List items);

  bool is(Kind k) const { return kind == k; }
  bool isNumber() const { return kind == Kind::Bool || kind == Kind::Int || kind == Kind::Float; }
  bool isSequence() const { return kind == Kind::List || kind == Kind::Tuple; }
};

// An insertion-ordered mapping (Python dicts keep order); keys compare as
// Python's do (1 == 1.0 == True).
struct Dict {
  std::vector<std::pair<Value, Value>> entries;
  const Value *find(const Value &key) const;
  void set(Value key, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

struct Function {
  std::string name;
  std::function<Value(CallArgs &)> call;
};

// What map/select/unique/reject return: iterated once, as Python generators.
struct GeneratorState {
  List items;
  size_t next = 0;
};

// Binds a builtin's arguments as Python does: positional first, then by
// keyword; missing optional ones are nullopt. Throws naming `function`.
std::vector<std::optional<Value>> bindArguments(const std::string &function, CallArgs &args,
                                                const std::vector<const char *> &parameters, size_t required);

std::string typeName(const Value &value);
bool truthy(const Value &value);
// Python's str() and repr(); functions and generators cannot be printed
// as jinja2 would (their repr has an address), so these fail.
std::string pyStr(const Value &value);
std::string pyRepr(const Value &value);
std::string floatRepr(double value);
// HF's tojson: json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys).
std::string toJson(const Value &value, const std::optional<std::string> &indent,
                   const std::optional<std::pair<std::string, std::string>> &separators, bool sortKeys);

bool equals(const Value &a, const Value &b);
// Python's a < b; fails for unorderable operands.
bool lessThan(const Value &a, const Value &b);
// Python's iter(): list/tuple items, str characters, dict keys, Undefined
// none, a generator's remaining items (consuming them).
List iterate(const Value &value);
int64_t length(const Value &value);
bool contains(const Value &container, const Value &item);
// Python's `a op b` for op in ==, !=, <, <=, >, >=, in, not in.
bool compare(const std::string &op, const Value &a, const Value &b);
int64_t toInteger(const Value &value, const std::string &what);

Value fromJson(const nlohmann::ordered_json &json);

// Code points of UTF-8 text (invalid bytes become U+FFFD) and back.
std::u32string decodeUtf8(const std::string &text);
std::string encodeUtf8(const std::u32string &text);
bool isPythonSpace(char32_t c);

// Guards against runaway templates: strings and lists longer than this fail.
inline constexpr size_t kMaxValueSize = size_t(1) << 28;

} // namespace ember::rt::chat
