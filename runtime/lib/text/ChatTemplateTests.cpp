// The tests of ember's Jinja engine ("x is defined", select('odd')), with
// jinja2 3.1's semantics, by name.

#include "ChatTemplateAst.h"

#include <map>
#include <set>

namespace ember::rt::chat {

namespace {

using Test = bool (*)(const Value &, CallArgs &);

int64_t integerOperand(const Value &value, const char *test) {
  if (value.kind == Kind::Float)
    fail(std::string(test) + ": expected an integer, got float");
  return toInteger(value, test);
}

int64_t pythonModulo(int64_t a, int64_t b) {
  if (b == 0)
    fail("integer modulo by zero");
  if (b == -1)
    return 0;
  int64_t r = a % b;
  return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
}

Value onlyArgument(const char *name, CallArgs &args) { return *bindArguments(name, args, {"other"}, 1)[0]; }

bool sameAs(const Value &a, const Value &b) {
  if (a.kind != b.kind)
    return false;
  switch (a.kind) {
  case Kind::None:
  case Kind::Undefined:
    return true;
  case Kind::Bool:
    return a.boolean == b.boolean;
  case Kind::Int: // CPython caches the small ints
    return a.integer == b.integer && a.integer >= -5 && a.integer <= 256;
  case Kind::List:
  case Kind::Tuple:
    return a.list == b.list;
  case Kind::Dict:
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

const std::map<std::string, std::string> &comparisonTests() {
  static const std::map<std::string, std::string> table = {
      {"eq", "=="}, {"equalto", "=="}, {"==", "=="},         {"ne", "!="}, {"!=", "!="},
      {"lt", "<"},  {"lessthan", "<"}, {"<", "<"},           {"le", "<="}, {"<=", "<="},
      {"gt", ">"},  {">", ">"},        {"greaterthan", ">"}, {"ge", ">="}, {">=", ">="}};
  return table;
}

const std::map<std::string, Test> &tests() {
  static const std::map<std::string, Test> table = {
      {"defined", [](const Value &v, CallArgs &) { return v.kind != Kind::Undefined; }},
      {"undefined", [](const Value &v, CallArgs &) { return v.kind == Kind::Undefined; }},
      {"none", [](const Value &v, CallArgs &) { return v.kind == Kind::None; }},
      {"boolean", [](const Value &v, CallArgs &) { return v.kind == Kind::Bool; }},
      {"true", [](const Value &v, CallArgs &) { return v.kind == Kind::Bool && v.boolean; }},
      {"false", [](const Value &v, CallArgs &) { return v.kind == Kind::Bool && !v.boolean; }},
      {"integer", [](const Value &v, CallArgs &) { return v.kind == Kind::Int; }},
      {"float", [](const Value &v, CallArgs &) { return v.kind == Kind::Float; }},
      {"number", [](const Value &v, CallArgs &) { return v.isNumber(); }},
      {"string", [](const Value &v, CallArgs &) { return v.kind == Kind::String; }},
      {"mapping", [](const Value &v, CallArgs &) { return v.kind == Kind::Dict; }},
      {"callable", [](const Value &v, CallArgs &) { return v.kind == Kind::Function || v.kind == Kind::Undefined; }},
      {"sequence",
       [](const Value &v, CallArgs &) {
         return v.isSequence() || v.kind == Kind::String || v.kind == Kind::Dict || v.kind == Kind::Undefined;
       }},
      {"iterable",
       [](const Value &v, CallArgs &) {
         return v.isSequence() || v.kind == Kind::String || v.kind == Kind::Dict || v.kind == Kind::Undefined ||
                v.kind == Kind::Generator;
       }},
      {"odd", [](const Value &v, CallArgs &) { return pythonModulo(integerOperand(v, "odd"), 2) == 1; }},
      {"even", [](const Value &v, CallArgs &) { return pythonModulo(integerOperand(v, "even"), 2) == 0; }},
      {"divisibleby",
       [](const Value &v, CallArgs &a) {
         return pythonModulo(integerOperand(v, "divisibleby"),
                             integerOperand(*bindArguments("divisibleby", a, {"num"}, 1)[0], "divisibleby")) == 0;
       }},
      {"in", [](const Value &v, CallArgs &a) { return contains(*bindArguments("in", a, {"seq"}, 1)[0], v); }},
      {"sameas", [](const Value &v, CallArgs &a) { return sameAs(v, onlyArgument("sameas", a)); }},
      {"lower",
       [](const Value &v, CallArgs &) {
         return v.kind == Kind::String && pyLower(v.text) == v.text && pyUpper(v.text) != v.text;
       }},
      {"upper",
       [](const Value &v, CallArgs &) {
         return v.kind == Kind::String && pyUpper(v.text) == v.text && pyLower(v.text) != v.text;
       }},
  };
  return table;
}

} // namespace

bool isTest(const std::string &name) { return tests().count(name) != 0 || comparisonTests().count(name) != 0; }

std::string unsupportedTestNote(const std::string &name) {
  static const std::set<std::string> jinjaTests = {"escaped", "filter", "test"};
  return jinjaTests.count(name) ? "the test '" + name + "' is not supported by ember's chat template engine" : "";
}

bool applyTest(const std::string &name, const Value &input, CallArgs &args) {
  if (auto comparison = comparisonTests().find(name); comparison != comparisonTests().end())
    return compare(comparison->second, input, onlyArgument(name.c_str(), args));
  auto found = tests().find(name);
  if (found == tests().end())
    fail("no test named '" + name + "'");
  if (found->first != "divisibleby" && found->first != "in" && found->first != "sameas")
    bindArguments(name, args, {}, 0);
  return found->second(input, args);
}

} // namespace ember::rt::chat
