// The chat template evaluator: renders the syntax tree with jinja2's
// scoping (a for loop's body and a macro get their own scope, so `set`
// inside them does not leak out), loop variables and controls, macros,
// and Python's operators.

#include "ChatTemplateAst.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace ember::rt::chat {

namespace {

// Guards against runaway templates (deep macro recursion, huge loops).
constexpr int kMaxDepth = 1000;
constexpr int kMaxMacroNesting = 100; // Python's recursion limit stops jinja2 near there too
constexpr int64_t kMaxSteps = 50'000'000;

struct Frame {
  std::shared_ptr<Frame> parent;
  std::unordered_map<std::string, Value> variables;
};

[[noreturn]] void unsupportedOperands(const std::string &op, const Value &a, const Value &b) {
  fail("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '" + typeName(b) + "'");
}

void checkOverflow(bool overflowed) {
  if (overflowed)
    fail("integer overflow (ember's template integers are 64-bit)");
}

double asDouble(const Value &v) { return v.kind == Kind::Float ? v.number : double(toInteger(v, "a number")); }

Value repeat(const Value &sequence, int64_t times) {
  if (sequence.kind == Kind::String) {
    if (times > 0 && sequence.text.size() * size_t(times) > kMaxValueSize)
      fail("a string longer than " + std::to_string(kMaxValueSize) + " bytes");
    std::string out;
    for (int64_t i = 0; i < times; ++i)
      out += sequence.text;
    return Value::of(out);
  }
  if (times > 0 && sequence.list->size() * size_t(times) > kMaxValueSize)
    fail("a list longer than " + std::to_string(kMaxValueSize) + " items");
  List out;
  for (int64_t i = 0; i < times; ++i)
    out.insert(out.end(), sequence.list->begin(), sequence.list->end());
  return Value::ofList(std::move(out), sequence.kind);
}

Value arithmetic(const std::string &op, const Value &a, const Value &b) {
  if (op == "~")
    return Value::of(pyStr(a) + pyStr(b));
  if (a.kind == Kind::Undefined)
    fail(a.text);
  if (b.kind == Kind::Undefined)
    fail(b.text);
  bool integers = (a.kind == Kind::Int || a.kind == Kind::Bool) && (b.kind == Kind::Int || b.kind == Kind::Bool);
  if (a.isNumber() && b.isNumber()) {
    int64_t x = integers ? toInteger(a, "") : 0, y = integers ? toInteger(b, "") : 0, r = 0;
    double p = asDouble(a), q = asDouble(b);
    if (op == "+" || op == "-" || op == "*") {
      if (!integers)
        return Value::of(op == "+" ? p + q : op == "-" ? p - q : p * q);
      checkOverflow(op == "+"   ? __builtin_add_overflow(x, y, &r)
                    : op == "-" ? __builtin_sub_overflow(x, y, &r)
                                : __builtin_mul_overflow(x, y, &r));
      return Value::of(r);
    }
    if ((op == "/" || op == "//" || op == "%") && (integers ? y == 0 : q == 0))
      fail(op == "%" ? "modulo by zero" : "division by zero");
    if (op == "/")
      return Value::of(p / q);
    if (op == "//" || op == "%") {
      if (integers) {
        if (x == INT64_MIN && y == -1)
          return op == "%" ? Value::of(int64_t(0)) : (checkOverflow(true), Value());
        int64_t quotient = x / y, remainder = x % y;
        if (remainder != 0 && ((remainder < 0) != (y < 0))) {
          --quotient;
          remainder += y;
        }
        return Value::of(op == "//" ? quotient : remainder);
      }
      double remainder = std::fmod(p, q);
      if (remainder != 0 && ((remainder < 0) != (q < 0)))
        remainder += q;
      return Value::of(op == "//" ? std::floor((p - remainder) / q + 0.5) : remainder);
    }
    if (op == "**") {
      if (!integers || y < 0)
        return Value::of(std::pow(p, q));
      int64_t result = 1;
      for (int64_t base = x, exponent = y; exponent; exponent >>= 1) {
        if (exponent & 1)
          checkOverflow(__builtin_mul_overflow(result, base, &result));
        if (exponent > 1)
          checkOverflow(__builtin_mul_overflow(base, base, &base));
      }
      return Value::of(result);
    }
  }
  if (op == "+" && a.kind == b.kind && (a.kind == Kind::String || a.isSequence())) {
    if (a.kind == Kind::String)
      return Value::of(a.text + b.text);
    List joined = *a.list;
    joined.insert(joined.end(), b.list->begin(), b.list->end());
    return Value::ofList(std::move(joined), a.kind);
  }
  if (op == "*" && (a.kind == Kind::String || a.isSequence()) && (b.kind == Kind::Int || b.kind == Kind::Bool))
    return repeat(a, toInteger(b, ""));
  if (op == "*" && (b.kind == Kind::String || b.isSequence()) && (a.kind == Kind::Int || a.kind == Kind::Bool))
    return repeat(b, toInteger(a, ""));
  if (op == "%" && a.kind == Kind::String)
    fail("string formatting with '%' is not supported by ember's chat template engine");
  unsupportedOperands(op, a, b);
}

// Namespaces are the only values that change once made; one stored in
// itself (directly, or through a function capturing it) would be a
// reference cycle, so namespaces never hold namespaces or functions.
bool holdsNamespaceOrFunction(const Value &value, int depth) {
  if (value.kind == Kind::Namespace || value.kind == Kind::Function || depth > kMaxNesting)
    return true;
  if (value.isSequence())
    return std::any_of(value.list->begin(), value.list->end(),
                       [&](const Value &item) { return holdsNamespaceOrFunction(item, depth + 1); });
  if (value.kind == Kind::Generator)
    return std::any_of(value.generator->items.begin(), value.generator->items.end(),
                       [&](const Value &item) { return holdsNamespaceOrFunction(item, depth + 1); });
  if (value.kind == Kind::Dict)
    return std::any_of(value.dict->entries.begin(), value.dict->entries.end(), [&](const auto &entry) {
      return holdsNamespaceOrFunction(entry.first, depth + 1) || holdsNamespaceOrFunction(entry.second, depth + 1);
    });
  return false;
}

class Evaluator {
public:
  Evaluator(const Dict &variables, std::string &out) : out_(&out) {
    frame_ = std::make_shared<Frame>();
    for (const auto &[name, value] : variables.entries)
      frame_->variables[name.text] = value;
  }

  enum class Flow { Normal, Break, Continue };

  Flow execBody(const Body &body) {
    for (const StmtPtr &stmt : body)
      if (Flow flow = exec(*stmt); flow != Flow::Normal)
        return flow;
    return Flow::Normal;
  }

private:
  std::string *out_;
  std::shared_ptr<Frame> frame_;
  std::vector<Value> blockResults_;
  // The scopes macros were defined in, which their functions see weakly
  // (a macro is a variable of the scope it sees: a strong reference would be a cycle).
  std::vector<std::shared_ptr<Frame>> macroScopes_;
  int depth_ = 0;
  int macroNesting_ = 0;
  int64_t steps_ = 0;

  struct Enter {
    Evaluator &evaluator;
    explicit Enter(Evaluator &e) : evaluator(e) {
      if (++evaluator.depth_ > kMaxDepth)
        fail("the template recurses deeper than " + std::to_string(kMaxDepth) + " levels");
      if (++evaluator.steps_ > kMaxSteps)
        fail("the template takes more than " + std::to_string(kMaxSteps) + " steps");
    }
    ~Enter() { --evaluator.depth_; }
  };

  // Runs `body` with `frame` as the innermost scope, restoring the current one after.
  template <typename Body> auto inFrame(std::shared_ptr<Frame> frame, Body body) {
    std::swap(frame_, frame);
    struct Restore {
      Evaluator &e;
      std::shared_ptr<Frame> &saved;
      ~Restore() { std::swap(e.frame_, saved); }
    } restore{*this, frame};
    return body();
  }

  std::shared_ptr<Frame> childFrame() const { return std::make_shared<Frame>(Frame{frame_, {}}); }

  std::string captureOutput(const Body &body) {
    std::string captured;
    std::string *saved = out_;
    out_ = &captured;
    struct Restore {
      std::string *&out, *saved;
      ~Restore() { out = saved; }
    } restore{out_, saved};
    execBody(body);
    return captured;
  }

  Value lookup(const std::string &name) const {
    for (const Frame *frame = frame_.get(); frame; frame = frame->parent.get())
      if (auto found = frame->variables.find(name); found != frame->variables.end())
        return found->second;
    return Value::undefined("'" + name + "' is undefined");
  }

  void assign(const std::vector<std::string> &targets, const Value &value) {
    if (targets.size() == 1) {
      frame_->variables[targets[0]] = value;
      return;
    }
    List items = iterate(value);
    if (items.size() != targets.size())
      fail(items.size() < targets.size()
               ? "not enough values to unpack (expected " + std::to_string(targets.size()) + ", got " +
                     std::to_string(items.size()) + ")"
               : "too many values to unpack (expected " + std::to_string(targets.size()) + ")");
    for (size_t i = 0; i < targets.size(); ++i)
      frame_->variables[targets[i]] = items[i];
  }

  Flow exec(const Stmt &stmt) {
    try {
      Enter enter(*this);
      return execStatement(stmt);
    } catch (Failure &failure) {
      if (!failure.line) {
        failure.line = stmt.at.line;
        failure.column = stmt.at.column;
      }
      throw;
    }
  }

  Flow execStatement(const Stmt &stmt) {
    switch (stmt.kind) {
    case Stmt::Kind::Text:
      write(stmt.text);
      return Flow::Normal;
    case Stmt::Kind::Output:
      write(pyStr(eval(*stmt.expressions[0])));
      return Flow::Normal;
    case Stmt::Kind::If:
      for (size_t i = 0; i < stmt.expressions.size(); ++i)
        if (truthy(eval(*stmt.expressions[i])))
          return execBody(stmt.bodies[i]);
      return stmt.bodies.size() > stmt.expressions.size() ? execBody(stmt.bodies.back()) : Flow::Normal;
    case Stmt::Kind::For:
      execFor(stmt);
      return Flow::Normal;
    case Stmt::Kind::Set: {
      Value value = eval(*stmt.expressions[0]);
      if (stmt.attribute.empty()) {
        assign(stmt.targets, value);
        return Flow::Normal;
      }
      Value space = lookup(stmt.targets[0]);
      if (space.kind != Kind::Namespace)
        fail("cannot assign attribute on non-namespace object ('" + stmt.targets[0] + "' is " + typeName(space) + ")");
      if (holdsNamespaceOrFunction(value, 0))
        fail("a namespace attribute holding a namespace or a function is not supported by ember's chat template "
             "engine");
      space.dict->set(Value::of(stmt.attribute), value);
      return Flow::Normal;
    }
    case Stmt::Kind::SetBlock: {
      Value value = Value::of(captureOutput(stmt.bodies[0]));
      if (!stmt.expressions.empty()) {
        blockResults_.push_back(value);
        struct Pop {
          std::vector<Value> &stack;
          ~Pop() { stack.pop_back(); }
        } pop{blockResults_};
        value = eval(*stmt.expressions[0]);
      }
      assign(stmt.targets, value);
      return Flow::Normal;
    }
    case Stmt::Kind::Macro:
      frame_->variables[stmt.name] = makeMacro(stmt);
      return Flow::Normal;
    case Stmt::Kind::Break:
      return Flow::Break;
    case Stmt::Kind::Continue:
      return Flow::Continue;
    case Stmt::Kind::Scope: {
      std::vector<Value> values;
      for (const ExprPtr &expr : stmt.expressions)
        values.push_back(eval(*expr));
      auto frame = childFrame();
      for (size_t i = 0; i < values.size(); ++i)
        frame->variables[stmt.targets[i]] = values[i];
      return inFrame(frame, [&] { return execBody(stmt.bodies[0]); });
    }
    }
    return Flow::Normal;
  }

  void write(const std::string &text) {
    if (out_->size() + text.size() > kMaxValueSize)
      fail("the rendered text is longer than " + std::to_string(kMaxValueSize) + " bytes");
    *out_ += text;
  }

  void execFor(const Stmt &stmt) {
    List items = iterate(eval(*stmt.expressions[0]));
    if (const Expr *filter = stmt.expressions[1].get()) {
      List kept;
      for (const Value &item : items) {
        auto frame = childFrame();
        if (inFrame(frame, [&] { return assign(stmt.targets, item), truthy(eval(*filter)); }))
          kept.push_back(item);
      }
      items = std::move(kept);
    }
    size_t count = items.size();
    for (size_t i = 0; i < count; ++i) {
      auto frame = childFrame();
      Flow flow = inFrame(frame, [&] {
        assign(stmt.targets, items[i]);
        frame_->variables["loop"] = loopValue(items, i);
        return execBody(stmt.bodies[0]);
      });
      if (flow == Flow::Break)
        break;
    }
    if (count == 0)
      inFrame(childFrame(), [&] { return execBody(stmt.bodies[1]); });
  }

  static Value loopValue(const List &items, size_t i) {
    auto loop = std::make_shared<Dict>();
    int64_t index = int64_t(i), count = int64_t(items.size());
    auto set = [&](const char *name, Value value) { loop->entries.emplace_back(Value::of(name), std::move(value)); };
    set("index", Value::of(index + 1));
    set("index0", Value::of(index));
    set("revindex", Value::of(count - index));
    set("revindex0", Value::of(count - index - 1));
    set("first", Value::of(i == 0));
    set("last", Value::of(index == count - 1));
    set("length", Value::of(count));
    set("depth", Value::of(int64_t(1)));
    set("depth0", Value::of(int64_t(0)));
    if (i > 0)
      set("previtem", items[i - 1]);
    if (index + 1 < count)
      set("nextitem", items[i + 1]);
    set("cycle", Value::ofFunction("loop.cycle", [index](CallArgs &args) {
          if (args.positional.empty() || !args.keywords.empty())
            fail("loop.cycle() needs at least one positional argument");
          return args.positional[size_t(index) % args.positional.size()];
        }));
    return Value::ofDict(loop);
  }

  Value makeMacro(const Stmt &macro) {
    macroScopes_.push_back(frame_);
    std::weak_ptr<Frame> definedIn = frame_;
    return Value::ofFunction(macro.name, [this, &macro, definedIn](CallArgs &args) {
      const std::vector<std::string> &parameters = macro.targets;
      if (args.positional.size() > parameters.size())
        fail("macro '" + macro.name + "' takes not more than " + std::to_string(parameters.size()) + " argument(s)");
      if (macroNesting_ >= kMaxMacroNesting)
        fail("macro calls nest deeper than " + std::to_string(kMaxMacroNesting) + " levels");
      struct Nesting {
        int &count;
        ~Nesting() { --count; }
      } nesting{++macroNesting_};
      auto frame = std::make_shared<Frame>(Frame{definedIn.lock(), {}});
      std::vector<bool> given(parameters.size());
      for (size_t i = 0; i < args.positional.size(); ++i) {
        frame->variables[parameters[i]] = args.positional[i];
        given[i] = true;
      }
      for (auto &[name, value] : args.keywords) {
        size_t i = size_t(std::find(parameters.begin(), parameters.end(), name) - parameters.begin());
        if (i == parameters.size())
          fail("macro '" + macro.name + "' takes no keyword argument '" + name + "'");
        if (given[i])
          fail("macro '" + macro.name + "' got multiple values for argument '" + name + "'");
        frame->variables[name] = value;
        given[i] = true;
      }
      return inFrame(frame, [&] {
        for (size_t i = 0; i < parameters.size(); ++i)
          if (!given[i])
            frame_->variables[parameters[i]] =
                macro.expressions[i] ? eval(*macro.expressions[i])
                                     : Value::undefined("parameter '" + parameters[i] + "' was not provided");
        return Value::of(captureOutput(macro.bodies[0]));
      });
    });
  }

  CallArgs evalArguments(const Expr &expr, size_t firstPositional) {
    CallArgs args;
    for (size_t i = firstPositional; i < expr.operands.size(); ++i)
      args.positional.push_back(eval(*expr.operands[i]));
    for (const auto &[name, value] : expr.keywords)
      args.keywords.emplace_back(name, eval(*value));
    return args;
  }

  std::optional<int64_t> sliceIndex(const ExprPtr &expr) {
    if (!expr)
      return std::nullopt;
    Value value = eval(*expr);
    if (value.kind == Kind::None)
      return std::nullopt;
    return toInteger(value, "a slice index");
  }

  Value eval(const Expr &expr) {
    try {
      Enter enter(*this);
      return evalExpression(expr);
    } catch (Failure &failure) {
      if (!failure.line) {
        failure.line = expr.at.line;
        failure.column = expr.at.column;
      }
      throw;
    }
  }

  Value evalExpression(const Expr &expr) {
    switch (expr.kind) {
    case Expr::Kind::Constant:
      return expr.constant;
    case Expr::Kind::Name:
      return lookup(expr.name);
    case Expr::Kind::Attribute:
      return getAttribute(eval(*expr.operands[0]), expr.name);
    case Expr::Kind::Item: {
      Value object = eval(*expr.operands[0]);
      return getItem(object, eval(*expr.operands[1]));
    }
    case Expr::Kind::Slice: {
      Value object = eval(*expr.operands[0]);
      std::optional<int64_t> start = sliceIndex(expr.operands[1]), stop = sliceIndex(expr.operands[2]);
      return getSlice(object, start, stop, sliceIndex(expr.operands[3]));
    }
    case Expr::Kind::Call: {
      Value callee = eval(*expr.operands[0]);
      CallArgs args = evalArguments(expr, 1);
      if (callee.kind == Kind::Undefined)
        fail(callee.text);
      if (callee.kind != Kind::Function)
        fail("'" + typeName(callee) + "' object is not callable");
      return callee.function->call(args);
    }
    case Expr::Kind::Filter: {
      Value input = expr.operands[0]->kind == Expr::Kind::BlockResult ? blockResults_.back() : eval(*expr.operands[0]);
      CallArgs args = evalArguments(expr, 1);
      return applyFilter(expr.name, input, args);
    }
    case Expr::Kind::Test: {
      Value input = eval(*expr.operands[0]);
      CallArgs args = evalArguments(expr, 1);
      return Value::of(applyTest(expr.name, input, args));
    }
    case Expr::Kind::Unary: {
      Value operand = eval(*expr.operands[0]);
      if (expr.name == "not")
        return Value::of(!truthy(operand));
      if (operand.kind == Kind::Undefined)
        fail(operand.text);
      if (operand.kind == Kind::Float)
        return Value::of(expr.name == "-" ? -operand.number : operand.number);
      if (operand.kind != Kind::Int && operand.kind != Kind::Bool)
        fail("bad operand type for unary " + expr.name + ": '" + typeName(operand) + "'");
      int64_t value = toInteger(operand, "");
      if (expr.name == "-")
        checkOverflow(value == INT64_MIN);
      return Value::of(expr.name == "-" ? -value : value);
    }
    case Expr::Kind::Binary: {
      Value left = eval(*expr.operands[0]);
      return arithmetic(expr.name, left, eval(*expr.operands[1]));
    }
    case Expr::Kind::Compare: {
      Value left = eval(*expr.operands[0]);
      for (size_t i = 0; i < expr.comparisons.size(); ++i) {
        Value right = eval(*expr.operands[i + 1]);
        if (!compare(expr.comparisons[i], left, right))
          return Value::of(false);
        left = std::move(right);
      }
      return Value::of(true);
    }
    case Expr::Kind::And:
    case Expr::Kind::Or: {
      Value left = eval(*expr.operands[0]);
      return truthy(left) == (expr.kind == Expr::Kind::And) ? eval(*expr.operands[1]) : left;
    }
    case Expr::Kind::Conditional:
      if (truthy(eval(*expr.operands[0])))
        return eval(*expr.operands[1]);
      if (expr.operands[2])
        return eval(*expr.operands[2]);
      return Value::undefined("the inline if-expression on line " + std::to_string(expr.at.line) +
                              " evaluated to false and no else section was defined.");
    case Expr::Kind::ListLiteral:
    case Expr::Kind::TupleLiteral: {
      List items;
      for (const ExprPtr &item : expr.operands)
        items.push_back(eval(*item));
      return Value::ofList(std::move(items), expr.kind == Expr::Kind::ListLiteral ? Kind::List : Kind::Tuple);
    }
    case Expr::Kind::DictLiteral: {
      auto dict = std::make_shared<Dict>();
      for (size_t i = 0; i + 1 < expr.operands.size(); i += 2) {
        Value key = eval(*expr.operands[i]);
        if (key.kind == Kind::List || key.kind == Kind::Dict || key.kind == Kind::Namespace ||
            key.kind == Kind::Undefined || key.kind == Kind::Generator)
          fail("unhashable type: '" + typeName(key) + "'");
        dict->set(std::move(key), eval(*expr.operands[i + 1]));
      }
      return Value::ofDict(dict);
    }
    case Expr::Kind::BlockResult:
      return blockResults_.back();
    }
    fail("unknown expression");
  }
};

} // namespace

std::string renderBody(const Body &body, const Dict &variables) {
  std::string out;
  Evaluator(variables, out).execBody(body);
  return out;
}

} // namespace ember::rt::chat
