// ember's Jinja engine for chat templates: each construct on a small
// template, with the text python jinja2 3.1.4 renders in HF transformers'
// environment (trim_blocks, lstrip_blocks, loopcontrols); the errors; and
// loading a model folder's template and special tokens.

#include "ember/runtime/ChatTemplate.h"

#include "TestSupport.h"

namespace ember::rt {
namespace {

using nlohmann::ordered_json;

const ordered_json kConversation = ordered_json::parse(R"([
  {"role": "system", "content": "Be brief."},
  {"role": "user", "content": "Hi 👋"},
  {"role": "assistant", "content": "<think>hmm</think>\nHello!"},
  {"role": "user", "content": ""}
])");

std::string render(const std::string &source, const ordered_json &variables = ordered_json::object(),
                   bool addGenerationPrompt = true) {
  return ChatTemplate(source, "test.jinja").render(kConversation, addGenerationPrompt, variables);
}

TEST(ChatTemplate, TextAndOutput) {
  EXPECT_EQ(render("plain text"), "plain text");
  EXPECT_EQ(render("{{ messages[1].content }}|{{ messages[1]['role'] }}"), "Hi 👋|user");
  EXPECT_EQ(render("{# a comment #}x"), "x");
  EXPECT_EQ(render("a\n"), "a");     // keep_trailing_newline=False drops one newline
  EXPECT_EQ(render("a\n\n"), "a\n"); // ... only one
  EXPECT_EQ(render("a\r\nb\rc"), "a\nb\nc");
  EXPECT_EQ(render("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
  EXPECT_EQ(render("{{ add_generation_prompt }}", ordered_json::object(), false), "False");
}

TEST(ChatTemplate, WhitespaceControl) {
  // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before it.
  EXPECT_EQ(render("  {% if true %}\n    x\n  {% endif %}\nend"), "    x\nend");
  // Not for {{ }}, and not for a tag after text on its line.
  EXPECT_EQ(render("  {{ 'v' }}\nb {% if true %}\nx{% endif %}"), "  v\nb x");
  EXPECT_EQ(render("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
  EXPECT_EQ(render("a \n {{- 'v' -}} \n b"), "avb");
  EXPECT_EQ(render("  {%+ if true %}x{% endif +%}\ny"), "  x\ny");
  EXPECT_EQ(render("  {# c #}\nx"), "x");
}

TEST(ChatTemplate, Statements) {
  EXPECT_EQ(render("{% if false %}a{% elif messages %}b{% else %}c{% endif %}"), "b");
  EXPECT_EQ(render("{% for m in messages %}{{ loop.index }}{{ m.role[0] }}{% endfor %}"), "1s2u3a4u");
  EXPECT_EQ(render("{% for m in messages if m.role == 'user' %}{{ loop.index0 }}/{{ loop.length }}"
                   "{{ loop.first }}{{ loop.last }}{{ loop.revindex }} {% endfor %}"),
            "0/2TrueFalse2 1/2FalseTrue1 ");
  EXPECT_EQ(render("{% for i in range(6) %}{% if i == 1 %}{% continue %}{% elif i == 4 %}{% break %}{% endif %}"
                   "{{ i }}{% endfor %}"),
            "023");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
  EXPECT_EQ(render("{% for i in range(3) %}{{ loop.previtem is defined }}{{ loop.nextitem | default('-') }}"
                   "{{ loop.cycle('x', 'y') }}{% endfor %}"),
            "False1xTrue2yTrue-x");
  EXPECT_EQ(render("{% set a, b = 1, 'two' %}{{ a }}{{ b }}"), "1two");
  EXPECT_EQ(render("{% set s | upper %} x {{ 1 }} {% endset %}[{{ s }}]"), "[ X 1 ]");
  EXPECT_EQ(render("{% macro f(a, b='d') %}{{ a }}-{{ b }}{% endmacro %}{{ f(1) }} {{ f(2, 'e') }} {{ f(b=3, a=4) }}"),
            "1-d 2-e 4-3");
  EXPECT_EQ(render("{% with x = 5 %}{{ x }}{% endwith %}[{{ x }}]"), "5[]");
  EXPECT_EQ(render("{% generation %}kept {{ 1 }}{% endgeneration %}"), "kept 1");
}

TEST(ChatTemplate, ScopingAndNamespace) {
  // set inside a loop body stays there; each iteration starts from the outer value.
  EXPECT_EQ(render("{% set x = 1 %}{% for i in range(3) %}{{ x }}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}"),
            "1212121");
  EXPECT_EQ(render("{% set ns = namespace(n=0, seen=false) %}{% for m in messages %}{% if m.role == 'user' %}"
                   "{% set ns.n = ns.n + 1 %}{% set ns.seen = true %}{% endif %}{% endfor %}{{ ns.n }} {{ ns.seen }}"),
            "2 True");
  EXPECT_EQ(render("{% if true %}{% set y = 'leaks' %}{% endif %}{{ y }}"), "leaks");
}

TEST(ChatTemplate, Expressions) {
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 3 / 2 }} {{ 2 ** 10 }} {{ 2 ** -1 }}"),
            "7 3 -4 2 1.5 1024 0.5");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ [0] * 2 }}"),
            "a1NoneTrue ababab [1, 2] [0, 0]");
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 'a' in 'cat' }} {{ 2 not in [1, 2] }} {{ 'role' in messages[0] }}"),
            "True True False True");
  EXPECT_EQ(render("{{ none or 'd' }} {{ 0 and 1 }} {{ not messages }} {{ 'y' if messages else 'n' }}"), "d 0 False y");
  EXPECT_EQ(render("[{{ 'x' if false }}]"), "[]");
  EXPECT_EQ(render("{{ 'abcdef'[1:3] }} {{ 'abc'[::-1] }} {{ [1, 2, 3][-1] }} {{ [1, 2, 3][:-1] }} {{ 'héllo'[1] }}"),
            "bc cba 3 [1, 2] é");
  EXPECT_EQ(render("{{ 'it\\'s' }} {{ \"tab\\there\" }} {{ 'a' 'b' }} {{ '\\u00e9' }}"), "it's tab\there ab é");
  EXPECT_EQ(render("{{ 0x1F }} {{ 1_000 }} {{ 1.5e3 }} {{ 1e16 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 100.0 }}"),
            "31 1000 1500.0 1e+16 1e-05 0.30000000000000004 100.0");
  EXPECT_EQ(render("{{ messages[0] }} {{ ['it\\'s', none, 1.0, (1,)] }} {{ (1, 2) }}"),
            "{'role': 'system', 'content': 'Be brief.'} [\"it's\", None, 1.0, (1,)] (1, 2)");
  EXPECT_EQ(render("{{ undefined_name }}|{{ undefined_name is defined }}|{{ messages[0].missing is defined }}"),
            "|False|False");
}

TEST(ChatTemplate, Filters) {
  EXPECT_EQ(render("{{ '  x  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ messages | length }}|{{ 'héllo' | count }}"),
            "x|a|4|5");
  EXPECT_EQ(render("{{ 'ab cD-ef' | title }} {{ 'hELLO' | capitalize }} {{ 'Straße' | upper }} {{ 'ÄB' | lower }}"),
            "Ab Cd-Ef Hello STRASSE äb");
  EXPECT_EQ(render("{{ x | default('d') }} {{ '' | default('e', true) }} {{ none | d('f') }}"), "d e None");
  EXPECT_EQ(render("{{ [3, 1, 2] | first }}{{ [3, 1, 2] | last }} {{ [3, 1, 2] | sort }} {{ ['b', 'A', 'a'] | sort }}"),
            "32 [1, 2, 3] ['A', 'a', 'b']");
  EXPECT_EQ(render("{{ messages | map(attribute='role') | unique | join(',') }} {{ [1, 2] | join }}"),
            "system,user,assistant 12");
  EXPECT_EQ(render("{{ messages | selectattr('role', 'equalto', 'user') | list | length }} "
                   "{{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | list }} "
                   "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [0, 1, ''] | reject | list }}"),
            "2 ['system', 'assistant'] [1, 3] [0, '']");
  EXPECT_EQ(render("{{ 'Hello' | replace('l', 'L') }} {{ 'Hello' | replace('l', 'L', 1) }} {{ 'abc' | reverse }} "
                   "{{ [1, 2] | reverse | list }} {{ {'a': 1} | items | list }} {{ 'ab' | list }}"),
            "HeLLo HeLlo cba [2, 1] [('a', 1)] ['a', 'b']");
  EXPECT_EQ(render("{{ '3' | int }} {{ '3.7' | int }} {{ 'x' | int }} {{ 2.5 | round }} {{ 2.567 | round(2) }} "
                   "{{ -3 | abs }} {{ '2.5' | float }} {{ 1 | string }}"),
            "3 3 0 2.0 2.57 3 2.5 1");
  EXPECT_EQ(render("{{ 'a\\nb' | indent(2) }}|{{ 'a\\n\\nb' | indent(2, true) }}|{{ 'a<b' | e }}|{{ 1 | safe }}"),
            "a\n  b|  a\n\n  b|a&lt;b|1");
  EXPECT_EQ(render("{{ {'b': [1, 2.5, none, true], 'a': 'é\"'} | tojson }}"),
            "{\"b\": [1, 2.5, null, true], \"a\": \"é\\\"\"}");
  EXPECT_EQ(render("{{ {'b': 1, 'a': [2]} | tojson(indent=2, sort_keys=true) }}"),
            "{\n  \"a\": [\n    2\n  ],\n  \"b\": 1\n}");
  EXPECT_EQ(render("{{ [1, {'k': 2}] | tojson(separators=(',', ':')) }} {{ 'é' | tojson(ensure_ascii=true) }}"),
            "[1,{\"k\":2}] \"\\u00e9\"");
}

TEST(ChatTemplate, TestsAndMethods) {
  EXPECT_EQ(render("{{ 3 is odd }}{{ 3 is even }}{{ 3 is divisibleby 3 }}{{ 1 is number }}{{ true is integer }}"
                   "{{ 1.5 is float }}{{ 's' is string }}{{ messages is sequence }}{{ messages[0] is mapping }}"),
            "TrueFalseTrueTrueFalseTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ none is none }}{{ 1 is not none }}{{ 3 is eq 3 }}{{ 3 is in [3] }}{{ true is true }}"
                   "{{ x is undefined }}{{ messages is iterable }}{{ false is boolean }}"),
            "TrueTrueTrueTrueTrueTrueTrueTrue");
  EXPECT_EQ(
      render("{{ ' a b '.strip() }}|{{ 'xax'.strip('x') }}|{{ ' a'.lstrip() }}|{{ 'a '.rstrip() }}|"
             "{{ 'a,b,c'.split(',') }}{{ ' a  b '.split() }}{{ 'a,b,c'.split(',', 1) }}{{ 'a b c'.rsplit(None, 1) }}"),
      "a b|a|a|a|['a', 'b', 'c']['a', 'b']['a', 'b,c']['a b', 'c']");
  EXPECT_EQ(
      render(
          "{{ 'abc'.startswith('a') }}{{ 'abc'.endswith(('x', 'c')) }}{{ 'ab'.upper() }}{{ 'AB'.lower() }}"
          "{{ 'hello world'.title() }}{{ 'hELLO'.capitalize() }}{{ 'aXa'.replace('a', 'b') }}{{ 'héllo'.find('l') }}"),
      "TrueTrueABabHello WorldHellobXb2");
  EXPECT_EQ(render("{{ messages[0].get('name', 'anon') }} {{ messages[0].keys() | list }} {{ {'a': 1}.values() }} "
                   "{{ {'a': 1}.items() }}"),
            "anon ['role', 'content'] dict_values([1]) dict_items([('a', 1)])");
  EXPECT_EQ(render("{{ messages[2].content.split('</think>')[-1].lstrip('\\n') }}"), "Hello!");
  EXPECT_EQ(render("{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ dict(a=1) }} {{ namespace(a=1).a }}"),
            "[0, 1, 2] [1, 3, 5] {'a': 1} 1");
  EXPECT_EQ(render("{{ strftime_now('%Y') | length }}"), "4");
}

TEST(ChatTemplate, Variables) {
  ordered_json variables = {{"tools", {{{"name", "f"}}}}, {"add_generation_prompt", false}};
  EXPECT_EQ(render("{{ tools[0].name }} {{ add_generation_prompt }}", variables), "f False");
  EXPECT_EQ(render("{{ tools }} {{ documents is none }} {{ bos_token is defined }}"), "None True False");
}

TEST(ChatTemplate, SyntaxErrorsNameTheirPlace) {
  EXPECT_ERROR_CONTAINS(ChatTemplate("line\n{{ x | nofilter }}", "t.jinja"), "t.jinja:2:8: no filter named 'nofilter'");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{{ x is nottest }}", "t.jinja"), "t.jinja:1:9: no test named 'nottest'");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{% if x %}a", "t.jinja"), "unexpected end of template: 'if' needs '{% endif %}'");
  EXPECT_ERROR_CONTAINS(ChatTemplate("a\n  {% include 'x' %}", "t.jinja"),
                        "t.jinja:2:3: the 'include' tag is not supported by ember's chat template engine");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{% frobnicate %}", "t.jinja"), "t.jinja:1:1: unknown tag 'frobnicate'");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{{ x | dictsort }}", "t.jinja"), "the filter 'dictsort' is not supported");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{{ 1 + }}", "t.jinja"), "t.jinja:1:8: unexpected end of print statement '}}'");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{{ [1, 2 }}", "t.jinja"), "t.jinja:1:10: unexpected '}', expected ']'");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{{ 'open }}", "t.jinja"), "t.jinja:1:4: unterminated string literal");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{# open", "t.jinja"), "t.jinja:1:1: missing end of comment tag '#}'");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{% break %}", "t.jinja"), "t.jinja:1:1: 'break' outside a for loop");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{% for x in y recursive %}{% endfor %}", "t.jinja"),
                        "recursive for loops are not supported");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{% macro m() %}{{ caller() }}{% endmacro %}", "t.jinja"),
                        "a macro's 'caller' is not supported");
  EXPECT_ERROR_CONTAINS(ChatTemplate("{{ " + std::string(300, '(') + "1" + std::string(300, ')') + " }}", "t.jinja"),
                        "nests deeper than 256 levels");
}

TEST(ChatTemplate, RuntimeErrors) {
  EXPECT_ERROR_CONTAINS(render("\n  {{ raise_exception('roles must alternate') }}"),
                        "test.jinja:2:", "raise_exception: roles must alternate");
  EXPECT_ERROR_CONTAINS(render("{{ foo.bar }}"), "test.jinja:1:7: 'foo' is undefined");
  EXPECT_ERROR_CONTAINS(render("{{ messages[0].zz.y }}"), "'dict object' has no attribute 'zz'");
  EXPECT_ERROR_CONTAINS(render("{{ 1 + 'a' }}"), "unsupported operand type(s) for +: 'int' and 'str'");
  EXPECT_ERROR_CONTAINS(render("{{ 1 / 0 }}"), "division by zero");
  EXPECT_ERROR_CONTAINS(render("{{ messages() }}"), "'list' object is not callable");
  EXPECT_ERROR_CONTAINS(render("{{ messages.append(1) }}"), "access to attribute 'append' of 'list' object is unsafe");
  EXPECT_ERROR_CONTAINS(render("{{ [1, 2] | select('odd') }}"), "cannot print a generator");
  EXPECT_ERROR_CONTAINS(render("{% set x = 1 %}{% set x.a = 2 %}"), "cannot assign attribute on non-namespace object");
  EXPECT_ERROR_CONTAINS(render("{{ 'a' < 1 }}"), "'<' not supported between instances of 'str' and 'int'");
  EXPECT_ERROR_CONTAINS(render("{{ range(1000000) }}"), "Range too big");
  EXPECT_ERROR_CONTAINS(render("{{ 9223372036854775807 + 1 }}"), "integer overflow");
  EXPECT_ERROR_CONTAINS(render("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}"),
                        "macro calls nest deeper than 100 levels");
}

TEST(ChatTemplate, MessagesMustBeAListOfRoles) {
  ChatTemplate chat("{{ messages }}", "t.jinja");
  EXPECT_ERROR_CONTAINS(chat.render(ordered_json::object(), true), "t.jinja: messages must be a JSON array");
  EXPECT_ERROR_CONTAINS(chat.render(ordered_json::parse(R"([{"role": "user"}, {"content": "x"}])"), true),
                        "t.jinja: messages[1] has no string \"role\"");
  EXPECT_ERROR_CONTAINS(chat.render(ordered_json::parse(R"([1])"), true), "t.jinja: messages[0] must be an object");
  EXPECT_ERROR_CONTAINS(chat.render(ordered_json::array(), true, ordered_json::array()),
                        "the template variables must be a JSON object");
}

TEST(ChatTemplate, FromModelDir) {
  test::TempDir dir;
  ordered_json config = {{"bos_token", "<s>"},
                         {"eos_token", {{"content", "</s>"}, {"lstrip", false}}},
                         {"unk_token", nullptr},
                         {"pad_token", ""},
                         {"chat_template", "{{ bos_token }}|{{ eos_token }}|{{ unk_token is defined }}|"
                                           "{{ pad_token is defined }}|config"}};
  test::writeBytes(dir.file("tokenizer_config.json"), config.dump());
  ordered_json messages = ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  ChatTemplate fromConfig = ChatTemplate::fromModelDir(dir.path());
  EXPECT_EQ(fromConfig.render(messages, true), "<s>|</s>|False|False|config");
  EXPECT_NE(fromConfig.origin().find("tokenizer_config.json's chat_template"), std::string::npos);

  // chat_template.jinja, as newer transformers save it, comes first.
  test::writeBytes(dir.file("chat_template.jinja"), "{{ bos_token }}jinja file\n");
  EXPECT_EQ(ChatTemplate::fromModelDir(dir.path()).render(messages, true), "<s>jinja file");
  // special_tokens_map.json's tokens override the config's.
  test::writeBytes(dir.file("special_tokens_map.json"), R"({"bos_token": {"content": "<bos>"}})");
  EXPECT_EQ(ChatTemplate::fromModelDir(dir.path()).render(messages, true), "<bos>jinja file");
  std::filesystem::remove(dir.file("chat_template.jinja"));
  std::filesystem::remove(dir.file("special_tokens_map.json"));

  // The list form: the template named "default".
  config["chat_template"] = ordered_json::parse(
      R"([{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "default {{ messages | length }}"}])");
  test::writeBytes(dir.file("tokenizer_config.json"), config.dump());
  EXPECT_EQ(ChatTemplate::fromModelDir(dir.path()).render(messages, false), "default 1");
  config["chat_template"] = ordered_json::parse(R"([{"name": "tool_use", "template": "tools"}])");
  test::writeBytes(dir.file("tokenizer_config.json"), config.dump());
  EXPECT_ERROR_CONTAINS(ChatTemplate::fromModelDir(dir.path()), "has no template named 'default' (it has 'tool_use')");

  config["chat_template"] = 5;
  test::writeBytes(dir.file("tokenizer_config.json"), config.dump());
  EXPECT_ERROR_CONTAINS(ChatTemplate::fromModelDir(dir.path()), "field 'chat_template' must be a string or a list");
  config["chat_template"] = "x";
  config["bos_token"] = 7;
  test::writeBytes(dir.file("tokenizer_config.json"), config.dump());
  EXPECT_ERROR_CONTAINS(ChatTemplate::fromModelDir(dir.path()),
                        "field 'bos_token' must be a string, null or an object");

  config.erase("chat_template");
  test::writeBytes(dir.file("tokenizer_config.json"), config.dump());
  EXPECT_ERROR_CONTAINS(ChatTemplate::fromModelDir(dir.path()), dir.path() + ": the model folder has no chat template");
  test::writeBytes(dir.file("tokenizer_config.json"), "{not json");
  EXPECT_ERROR_CONTAINS(ChatTemplate::fromModelDir(dir.path()), "tokenizer_config.json: invalid JSON");
  test::TempDir empty;
  EXPECT_ERROR_CONTAINS(ChatTemplate::fromModelDir(empty.path()), "which it lacks");
}

TEST(ChatTemplate, CopiesShareTheParsedTemplate) {
  ChatTemplate original("{{ messages | length }}", "t.jinja");
  ChatTemplate copy = original;
  ChatTemplate moved = std::move(original);
  EXPECT_EQ(copy.render(kConversation, true), "4");
  EXPECT_EQ(moved.render(kConversation, true), "4");
}

} // namespace
} // namespace ember::rt
