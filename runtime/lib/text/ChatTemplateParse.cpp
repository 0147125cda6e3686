// The chat template parser: jinja2's grammar (precedence, tuples, filters
// and tests, statements) over ChatTemplateLex's tokens, refusing at parse
// time what the engine cannot render.

#include "ChatTemplateAst.h"
#include "ChatTemplateLex.h"

#include "ember/model/Error.h"

#include <set>

namespace ember::rt::chat {

namespace {

// Deeper nesting of expressions or blocks is refused (the evaluator recurses as deep).
constexpr int kMaxDepth = 256;

// Tags jinja2 knows that ember's engine does not render.
const std::set<std::string> kUnsupportedTags = {"include", "import", "from",       "extends",  "block",
                                                "call",    "filter", "autoescape", "recursive"};

class Parser : TokenCursor {
public:
  Parser(std::vector<Token> tokens, const std::string &origin) : TokenCursor(std::move(tokens), origin) {}

  Body parseAll() {
    std::string endTag;
    Body body = parseBody({}, endTag, "");
    return body;
  }

private:
  int depth_ = 0;
  int loopDepth_ = 0;
  bool inMacro_ = false;

  struct DepthGuard {
    Parser &parser;
    explicit DepthGuard(Parser &p) : parser(p) {
      if (++parser.depth_ > kMaxDepth)
        parser.error("the template nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    ~DepthGuard() { --parser.depth_; }
  };

  // A left-associative chain (a + b + c, x | f | g, a.b.c) nests its nodes
  // as deep as it is long: each link counts as a level until the chain ends.
  struct ChainGuard {
    Parser &parser;
    int links = 0;
    explicit ChainGuard(Parser &p) : parser(p) {}
    void link() {
      ++links;
      if (++parser.depth_ > kMaxDepth)
        parser.error("the template nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    ~ChainGuard() { parser.depth_ -= links; }
  };

  ExprPtr node(Expr::Kind kind, Location at, std::string name = "") {
    auto expr = std::make_unique<Expr>();
    expr->kind = kind;
    expr->at = at;
    expr->name = std::move(name);
    return expr;
  }

  // Statements until a "{% name %}" with a name in `endTags` (left for the
  // caller after the name); `opener` names the block being closed.
  Body parseBody(const std::set<std::string> &endTags, std::string &endTag, const std::string &opener) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token &token = current();
      if (token.type == Token::Type::End) {
        if (endTags.empty())
          return body;
        error("unexpected end of template: '" + opener + "' needs '{% " + *endTags.rbegin() + " %}'");
      }
      auto stmt = std::make_unique<Stmt>();
      stmt->at = token.at;
      if (token.type == Token::Type::Data) {
        stmt->kind = Stmt::Kind::Text;
        stmt->text = advance().text;
      } else if (token.type == Token::Type::VariableBegin) {
        advance();
        stmt->kind = Stmt::Kind::Output;
        stmt->expressions.push_back(parseTuple(true, {}));
        if (current().type != Token::Type::VariableEnd)
          error("expected the end of the print statement '}}', got " + describe(current()));
        advance();
      } else {
        advance();
        std::string name = expectName("a tag name");
        if (endTags.count(name)) {
          endTag = name;
          return body;
        }
        stmt = parseStatement(name, token.at);
      }
      body.push_back(std::move(stmt));
    }
  }

  StmtPtr parseStatement(const std::string &name, Location at) {
    auto stmt = std::make_unique<Stmt>();
    stmt->at = at;
    std::string endTag;
    if (name == "if") {
      stmt->kind = Stmt::Kind::If;
      stmt->expressions.push_back(parseTuple(false, {}));
      expectBlockEnd(name);
      while (true) {
        stmt->bodies.push_back(parseBody({"elif", "else", "endif"}, endTag, "if"));
        if (endTag == "elif") {
          stmt->expressions.push_back(parseTuple(false, {}));
          expectBlockEnd("elif");
        } else {
          expectBlockEnd(endTag);
          if (endTag == "else") {
            stmt->bodies.push_back(parseBody({"endif"}, endTag, "if"));
            expectBlockEnd(endTag);
          }
          return stmt;
        }
      }
    }
    if (name == "for") {
      stmt->kind = Stmt::Kind::For;
      stmt->targets = parseTargets("in");
      if (!skipName("in"))
        error("expected 'in' in the for loop, got " + describe(current()));
      stmt->expressions.push_back(parseTuple(false, {"recursive"}));
      stmt->expressions.push_back(skipName("if") ? parseExpression(true) : nullptr);
      if (isName("recursive"))
        error("recursive for loops are not supported by ember's chat template engine");
      expectBlockEnd(name);
      ++loopDepth_;
      stmt->bodies.push_back(parseBody({"else", "endfor"}, endTag, "for"));
      --loopDepth_;
      expectBlockEnd(endTag);
      stmt->bodies.emplace_back();
      if (endTag == "else") {
        stmt->bodies.back() = parseBody({"endfor"}, endTag, "for");
        expectBlockEnd(endTag);
      }
      return stmt;
    }
    if (name == "set")
      return parseSet(std::move(stmt));
    if (name == "macro")
      return parseMacro(std::move(stmt));
    if (name == "break" || name == "continue") {
      if (!loopDepth_)
        error("'" + name + "' outside a for loop", &at);
      stmt->kind = name == "break" ? Stmt::Kind::Break : Stmt::Kind::Continue;
      expectBlockEnd(name);
      return stmt;
    }
    if (name == "with" || name == "generation") {
      stmt->kind = Stmt::Kind::Scope;
      while (name == "with" && current().type != Token::Type::BlockEnd) {
        if (!stmt->targets.empty())
          expectOperator(",");
        stmt->targets.push_back(expectName("a variable name"));
        expectOperator("=");
        stmt->expressions.push_back(parseExpression(true));
      }
      expectBlockEnd(name);
      stmt->bodies.push_back(parseBody({"end" + name}, endTag, name));
      expectBlockEnd(endTag);
      return stmt;
    }
    if (kUnsupportedTags.count(name))
      error("the '" + name + "' tag is not supported by ember's chat template engine", &at);
    error("unknown tag '" + name + "'", &at);
  }

  // Names separated by commas: a for loop's or set's targets.
  std::vector<std::string> parseTargets(const char *endName) {
    std::vector<std::string> targets;
    do {
      if (isName(endName) || current().type == Token::Type::BlockEnd)
        break;
      Location at = current().at;
      std::string target = expectName("a variable name to assign to");
      if (target == "true" || target == "false" || target == "True" || target == "False" || target == "none" ||
          target == "None")
        error("cannot assign to the constant '" + target + "'", &at);
      targets.push_back(target);
    } while (skipOperator(","));
    if (targets.empty())
      error("expected a variable name to assign to, got " + describe(current()));
    return targets;
  }

  StmtPtr parseSet(StmtPtr stmt) {
    if (current().type == Token::Type::Name && isOperator(".", 1)) {
      stmt->targets.push_back(advance().text);
      advance();
      stmt->attribute = expectName("a namespace attribute");
    } else {
      stmt->targets = parseTargets("");
    }
    if (skipOperator("=")) {
      stmt->kind = Stmt::Kind::Set;
      stmt->expressions.push_back(parseTuple(true, {}));
      expectBlockEnd("set");
      return stmt;
    }
    if (!stmt->attribute.empty() || stmt->targets.size() != 1)
      error("expected '=' after the set's targets, got " + describe(current()));
    stmt->kind = Stmt::Kind::SetBlock;
    if (isOperator("|"))
      stmt->expressions.push_back(parseFilters(node(Expr::Kind::BlockResult, current().at)));
    expectBlockEnd("set");
    std::string endTag;
    stmt->bodies.push_back(parseBody({"endset"}, endTag, "set"));
    expectBlockEnd(endTag);
    return stmt;
  }

  StmtPtr parseMacro(StmtPtr stmt) {
    if (inMacro_)
      error("a macro inside a macro is not supported by ember's chat template engine");
    stmt->kind = Stmt::Kind::Macro;
    stmt->name = expectName("the macro's name");
    expectOperator("(");
    while (!skipOperator(")")) {
      if (!stmt->targets.empty())
        expectOperator(",");
      if (skipOperator(")"))
        break;
      stmt->targets.push_back(expectName("a parameter name"));
      stmt->expressions.push_back(skipOperator("=") ? parseExpression(true) : nullptr);
    }
    expectBlockEnd("macro");
    std::string endTag;
    int loopDepth = loopDepth_;
    loopDepth_ = 0;
    inMacro_ = true;
    stmt->bodies.push_back(parseBody({"endmacro"}, endTag, "macro"));
    inMacro_ = false;
    loopDepth_ = loopDepth;
    expectBlockEnd(endTag);
    return stmt;
  }

  // Expressions separated by commas (a tuple when there is a comma).
  ExprPtr parseTuple(bool withConditional, const std::set<std::string> &extraEnds, bool parenthesized = false) {
    Location at = current().at;
    auto tuple = node(Expr::Kind::TupleLiteral, at);
    bool isTuple = false;
    while (true) {
      if (!tuple->operands.empty())
        expectOperator(",");
      const Token &token = current();
      if (token.type == Token::Type::VariableEnd || token.type == Token::Type::BlockEnd || isOperator(")") ||
          (token.type == Token::Type::Name && extraEnds.count(token.text)))
        break;
      tuple->operands.push_back(parseExpression(withConditional));
      if (!isOperator(","))
        break;
      isTuple = true;
    }
    if (!isTuple) {
      if (tuple->operands.size() == 1)
        return std::move(tuple->operands[0]);
      if (!parenthesized)
        error("expected an expression, got " + describe(current()));
    }
    return tuple;
  }

  ExprPtr parseExpression(bool withConditional) {
    DepthGuard guard(*this);
    if (!withConditional)
      return parseOr();
    ExprPtr expr = parseOr();
    ChainGuard chain(*this);
    while (isName("if")) {
      chain.link();
      auto conditional = node(Expr::Kind::Conditional, advance().at);
      conditional->operands.push_back(parseOr());
      conditional->operands.push_back(std::move(expr));
      conditional->operands.push_back(skipName("else") ? parseExpression(true) : nullptr);
      expr = std::move(conditional);
    }
    return expr;
  }

  ExprPtr binary(Expr::Kind kind, Location at, std::string name, ExprPtr left, ExprPtr right) {
    auto expr = node(kind, at, std::move(name));
    expr->operands.push_back(std::move(left));
    expr->operands.push_back(std::move(right));
    return expr;
  }

  ExprPtr parseOr() {
    ExprPtr left = parseAnd();
    ChainGuard chain(*this);
    while (isName("or")) {
      chain.link();
      Location at = advance().at;
      left = binary(Expr::Kind::Or, at, "or", std::move(left), parseAnd());
    }
    return left;
  }

  ExprPtr parseAnd() {
    ExprPtr left = parseNot();
    ChainGuard chain(*this);
    while (isName("and")) {
      chain.link();
      Location at = advance().at;
      left = binary(Expr::Kind::And, at, "and", std::move(left), parseNot());
    }
    return left;
  }

  ExprPtr parseNot() {
    if (!isName("not"))
      return parseCompare();
    DepthGuard guard(*this);
    auto expr = node(Expr::Kind::Unary, advance().at, "not");
    expr->operands.push_back(parseNot());
    return expr;
  }

  ExprPtr parseCompare() {
    Location at = current().at;
    ExprPtr first = parseMath1();
    auto compare = node(Expr::Kind::Compare, at);
    compare->operands.push_back(std::move(first));
    while (true) {
      static const char *const kComparisons[] = {"==", "!=", "<", "<=", ">", ">="};
      std::string op;
      for (const char *symbol : kComparisons)
        if (isOperator(symbol))
          op = symbol;
      if (!op.empty()) {
        advance();
      } else if (isName("in")) {
        advance();
        op = "in";
      } else if (isName("not") && isName("in", 1)) {
        advance();
        advance();
        op = "not in";
      } else {
        break;
      }
      compare->comparisons.push_back(op);
      compare->operands.push_back(parseMath1());
    }
    return compare->comparisons.empty() ? std::move(compare->operands[0]) : std::move(compare);
  }

  ExprPtr parseMath1() {
    ExprPtr left = parseConcat();
    ChainGuard chain(*this);
    while (isOperator("+") || isOperator("-")) {
      chain.link();
      const Token &op = advance();
      left = binary(Expr::Kind::Binary, op.at, op.text, std::move(left), parseConcat());
    }
    return left;
  }

  ExprPtr parseConcat() {
    ExprPtr left = parseMath2();
    ChainGuard chain(*this);
    while (isOperator("~")) {
      chain.link();
      const Token &op = advance();
      left = binary(Expr::Kind::Binary, op.at, op.text, std::move(left), parseMath2());
    }
    return left;
  }

  ExprPtr parseMath2() {
    ExprPtr left = parsePow();
    ChainGuard chain(*this);
    while (isOperator("*") || isOperator("/") || isOperator("//") || isOperator("%")) {
      chain.link();
      const Token &op = advance();
      left = binary(Expr::Kind::Binary, op.at, op.text, std::move(left), parsePow());
    }
    return left;
  }

  ExprPtr parsePow() {
    ExprPtr left = parseUnary(true);
    ChainGuard chain(*this);
    while (isOperator("**")) {
      chain.link();
      const Token &op = advance();
      left = binary(Expr::Kind::Binary, op.at, op.text, std::move(left), parseUnary(true));
    }
    return left;
  }

  ExprPtr parseUnary(bool withFilters) {
    DepthGuard guard(*this);
    ExprPtr expr;
    if (isOperator("-") || isOperator("+")) {
      const Token &op = advance();
      expr = node(Expr::Kind::Unary, op.at, op.text);
      expr->operands.push_back(parseUnary(false));
    } else {
      expr = parsePrimary();
    }
    expr = parsePostfix(std::move(expr));
    return withFilters ? parseFilters(std::move(expr)) : std::move(expr);
  }

  ExprPtr constant(Location at, Value value) {
    auto expr = node(Expr::Kind::Constant, at);
    expr->constant = std::move(value);
    return expr;
  }

  ExprPtr parsePrimary() {
    DepthGuard guard(*this);
    const Token &token = current();
    Location at = token.at;
    switch (token.type) {
    case Token::Type::Name: {
      std::string name = advance().text;
      if (name == "true" || name == "True" || name == "false" || name == "False")
        return constant(at, Value::of(name == "true" || name == "True"));
      if (name == "none" || name == "None")
        return constant(at, Value::none());
      if (inMacro_ && (name == "caller" || name == "varargs" || name == "kwargs"))
        error("a macro's '" + name + "' is not supported by ember's chat template engine", &at);
      return node(Expr::Kind::Name, at, name);
    }
    case Token::Type::String: {
      std::string text;
      while (current().type == Token::Type::String)
        text += advance().text; // adjacent literals join, as in Python
      return constant(at, Value::of(text));
    }
    case Token::Type::Integer:
    case Token::Type::Float:
      return constant(at, advance().literal);
    default:
      break;
    }
    if (skipOperator("(")) {
      ExprPtr inner = parseTuple(true, {}, true);
      expectOperator(")");
      return inner;
    }
    if (isOperator("[") || isOperator("{")) {
      bool isDict = isOperator("{");
      advance();
      auto literal = node(isDict ? Expr::Kind::DictLiteral : Expr::Kind::ListLiteral, at);
      const char *close = isDict ? "}" : "]";
      while (!isOperator(close)) {
        if (!literal->operands.empty())
          expectOperator(",");
        if (isOperator(close))
          break;
        literal->operands.push_back(parseExpression(true));
        if (isDict) {
          expectOperator(":");
          literal->operands.push_back(parseExpression(true));
        }
      }
      advance();
      return literal;
    }
    error("unexpected " + describe(token));
  }

  ExprPtr parsePostfix(ExprPtr expr) {
    ChainGuard chain(*this);
    while (true) {
      chain.link();
      if (isOperator(".")) {
        Location at = advance().at;
        if (current().type == Token::Type::Integer) {
          expr = binary(Expr::Kind::Item, at, "", std::move(expr), constant(current().at, advance().literal));
        } else {
          auto attribute = node(Expr::Kind::Attribute, at, expectName("an attribute name after '.'"));
          attribute->operands.push_back(std::move(expr));
          expr = std::move(attribute);
        }
      } else if (isOperator("[")) {
        expr = parseSubscript(std::move(expr));
      } else if (isOperator("(")) {
        expr = parseCall(node(Expr::Kind::Call, current().at), std::move(expr));
      } else {
        return expr;
      }
    }
  }

  ExprPtr parseSubscript(ExprPtr object) {
    Location at = advance().at;
    ExprPtr parts[3];
    int colons = 0;
    while (!isOperator("]")) {
      if (isOperator(":")) {
        if (++colons > 2)
          error("a slice has at most two ':'");
        advance();
      } else if (!parts[colons]) {
        parts[colons] = parseExpression(true);
      } else {
        error("expected ']' or ':' in the subscript, got " + describe(current()) +
              " (subscripts with ',' are not supported by ember's chat template engine)");
      }
    }
    advance();
    if (!colons) {
      if (!parts[0])
        error("expected a subscript inside '[]'", &at);
      return binary(Expr::Kind::Item, at, "", std::move(object), std::move(parts[0]));
    }
    auto slice = node(Expr::Kind::Slice, at);
    slice->operands.push_back(std::move(object));
    for (ExprPtr &part : parts)
      slice->operands.push_back(std::move(part));
    return slice;
  }

  // "(args, name=value)" after `callee`, which becomes operands[0] of `call`.
  ExprPtr parseCall(ExprPtr call, ExprPtr callee) {
    expectOperator("(");
    if (callee)
      call->operands.push_back(std::move(callee));
    bool first = true;
    while (!skipOperator(")")) {
      if (!first) {
        expectOperator(",");
        if (skipOperator(")"))
          break;
      }
      first = false;
      if (isOperator("*") || isOperator("**"))
        error("'*' and '**' arguments are not supported by ember's chat template engine");
      if (current().type == Token::Type::Name && isOperator("=", 1)) {
        std::string key = advance().text;
        advance();
        call->keywords.emplace_back(key, parseExpression(true));
      } else {
        if (!call->keywords.empty())
          error("a positional argument after a keyword argument");
        call->operands.push_back(parseExpression(true));
      }
    }
    return call;
  }

  // "| filter(args)" and "is [not] test args" after an operand.
  ExprPtr parseFilters(ExprPtr expr) {
    ChainGuard chain(*this);
    while (true) {
      chain.link();
      if (isOperator("|")) {
        advance();
        Location at = current().at;
        std::string name = expectName("a filter name");
        if (!isFilter(name)) {
          std::string note = unsupportedFilterNote(name);
          error(note.empty() ? "no filter named '" + name + "'" : note, &at);
        }
        auto filter = node(Expr::Kind::Filter, at, name);
        filter->operands.push_back(std::move(expr));
        expr = isOperator("(") ? parseCall(std::move(filter), nullptr) : std::move(filter);
      } else if (isName("is")) {
        Location at = advance().at;
        bool negated = skipName("not");
        Location nameAt = current().at;
        std::string name = expectName("a test name");
        if (!isTest(name)) {
          std::string note = unsupportedTestNote(name);
          error(note.empty() ? "no test named '" + name + "'" : note, &nameAt);
        }
        auto test = node(Expr::Kind::Test, nameAt, name);
        test->operands.push_back(std::move(expr));
        const Token &token = current();
        bool argumentFollows = token.type == Token::Type::String || token.type == Token::Type::Integer ||
                               token.type == Token::Type::Float || isOperator("[") || isOperator("{") ||
                               (token.type == Token::Type::Name && !isName("else") && !isName("or") && !isName("and"));
        if (isOperator("(")) {
          test = parseCall(std::move(test), nullptr);
        } else if (argumentFollows) {
          if (isName("is"))
            error("tests cannot be chained with 'is'");
          test->operands.push_back(parsePostfix(parsePrimary()));
        }
        if (negated) {
          auto negation = node(Expr::Kind::Unary, at, "not");
          negation->operands.push_back(std::move(test));
          test = std::move(negation);
        }
        expr = std::move(test);
      } else if (isOperator("(")) {
        expr = parseCall(node(Expr::Kind::Call, current().at), std::move(expr));
      } else {
        return expr;
      }
    }
  }
};

} // namespace

Body parseTemplate(const std::string &source, const std::string &origin) {
  return Parser(lexTemplate(source, origin), origin).parseAll();
}

} // namespace ember::rt::chat
