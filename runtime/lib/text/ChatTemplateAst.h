#pragma once

// The syntax tree of ember's Jinja engine, the parser that builds it
// (ChatTemplateLex.cpp, ChatTemplateParse.cpp), the evaluator that renders
// it (ChatTemplateEval.cpp) and the builtins both use
// (ChatTemplateFilters.cpp, ChatTemplateTests.cpp, ChatTemplateMethods.cpp).
// Private to the runtime library.

#include "ChatTemplateValue.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ember::rt::chat {

// 1-based line and column (in code points) of a construct in the template.
struct Location {
  int line = 0, column = 0;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Constant,    // constant
    Name,        // name
    Attribute,   // operands[0].name
    Item,        // operands[0][operands[1]]
    Slice,       // operands[0][operands[1]:operands[2]:operands[3]], absent parts null
    Call,        // operands[0](operands[1:], keywords)
    Filter,      // operands[0] | name(operands[1:], keywords)
    Test,        // operands[0] is name(operands[1:], keywords)
    Unary,       // name ("-", "+", "not") operands[0]
    Binary,      // operands[0] name operands[1]: + - * / // % ** ~
    Compare,     // operands[0] comparisons[0] operands[1] ..., chained as Python does
    And,         // operands[0] and operands[1]
    Or,          // operands[0] or operands[1]
    Conditional, // operands[1] if operands[0] else operands[2] (null: undefined)
    ListLiteral, // [operands...]
    TupleLiteral,
    DictLiteral, // {operands[0]: operands[1], ...}
    BlockResult, // the body of {% set x | filter %}...{% endset %}, which the filter reads
  };
  Kind kind;
  Location at;
  Value constant;
  std::string name;
  std::vector<std::string> comparisons;
  std::vector<ExprPtr> operands;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind {
    Text,     // text
    Output,   // {{ expressions[0] }}
    If,       // expressions[i] guards bodies[i]; a last extra body is the else
    For,      // for targets in expressions[0] [if expressions[1]]: bodies[0], else bodies[1]
    Set,      // targets = expressions[0]; with `attribute`: targets[0].attribute = expressions[0]
    SetBlock, // targets[0] = rendered bodies[0], through expressions[0] (a filter chain) when present
    Macro,    // macro `name`(targets = expressions (null: no default)): bodies[0]
    Break,
    Continue,
    Scope, // with targets = expressions: bodies[0]; also {% generation %}, which renders its body
  };
  Kind kind;
  Location at;
  std::string text, name, attribute;
  std::vector<std::string> targets;
  std::vector<ExprPtr> expressions;
  std::vector<Body> bodies;
};

// Parses jinja2 source as HF's environment does (trim_blocks, lstrip_blocks,
// no trailing newline). Throws Error "<origin>:<line>:<column>: ...".
Body parseTemplate(const std::string &source, const std::string &origin);

// The builtins, by name. The parser refuses names that are not here.
bool isFilter(const std::string &name);
bool isTest(const std::string &name);
// Why a jinja2 filter, test or tag ember lacks is refused, or "" when
// jinja2 does not know the name either.
std::string unsupportedFilterNote(const std::string &name);
std::string unsupportedTestNote(const std::string &name);

Value applyFilter(const std::string &name, const Value &input, CallArgs &args);
bool applyTest(const std::string &name, const Value &input, CallArgs &args);
// obj.name and obj[key] as jinja2's sandbox resolves them: methods of str,
// dict and list, dict keys, namespace attributes; Undefined when missing.
Value getAttribute(const Value &object, const std::string &name);
Value getItem(const Value &object, const Value &key);
// object[start:stop:step] as Python slices str, list and tuple.
Value getSlice(const Value &object, std::optional<int64_t> start, std::optional<int64_t> stop,
               std::optional<int64_t> step);
// raise_exception, namespace, range, strftime_now, dict.
void addGlobals(Dict &globals);

// Python's str methods that filters share (ChatTemplateMethods.cpp).
std::string pyStrip(const std::string &text, const std::optional<std::string> &characters, bool left, bool right);
std::string pyUpper(const std::string &text);
std::string pyLower(const std::string &text);
std::string pyCapitalize(const std::string &text);

// Renders a parsed template with `variables`; throws Failure (with the
// line and column of the failing construct).
std::string renderBody(const Body &body, const Dict &variables);

} // namespace ember::rt::chat
