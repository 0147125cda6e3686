"""Parity of ember's chat template engine with python jinja2 configured
exactly as HF transformers' apply_chat_template configures it
(ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and the
loopcontrols extension, its {% generation %} tag, tojson, raise_exception
and strftime_now; variables messages, tools, documents,
add_generation_prompt and the special tokens).

Every template of TEMPLATES_DIR is put in a model folder (half as
chat_template.jinja, half as tokenizer_config.json's "chat_template", with
special tokens as strings and as {"content"} objects) beside a small
byte-level BPE tokenizer.json trained here; every conversation of
CONVERSATIONS (a JSON list of {"name", "messages", ...more variables}) is
rendered with add_generation_prompt true and false by jinja2 and by
`ember-tokenize --tokenizer DIR/tokenizer.json --chat-messages FILE`. The
texts must be identical byte for byte and the ids those of HF tokenizers'
encode(text, add_special_tokens=False); a template that raises must make
ember fail too.

usage: _render_reference.py TEMPLATES_DIR CONVERSATIONS OUT_DIR"""

import json
import os
import subprocess
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

SPECIAL_TOKENS = {"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|eot_id|>", "lstrip": False},
                  "unk_token": None, "pad_token": ""}
ADDED_TOKENS = ["<|begin_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>", "<|start_header_id|>",
                "<|end_header_id|>", "[INST]", "[/INST]", "<start_of_turn>", "<end_of_turn>", "</think>"]


class GenerationTag(jinja2.ext.Extension):
    """HF's {% generation %}...{% endgeneration %}: renders its body."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def hf_environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def special_tokens_map():
    """transformers' special_tokens_map: the set, non-empty tokens as strings."""
    tokens = {}
    for name, value in SPECIAL_TOKENS.items():
        value = value["content"] if isinstance(value, dict) else value
        if value:
            tokens[name] = value
    return tokens


def render_reference(source, conversation, add_generation_prompt):
    """(text, None) or (None, error) as transformers renders the conversation."""
    variables = {key: value for key, value in conversation.items() if key not in ("name", "messages")}
    try:
        template = hf_environment().from_string(source)
        kwargs = {**special_tokens_map(), **variables}
        return template.render(messages=conversation["messages"], tools=kwargs.pop("tools", None),
                               documents=kwargs.pop("documents", None),
                               add_generation_prompt=add_generation_prompt, **kwargs), None
    except Exception as error:  # HF lets any exception of the template through
        return None, f"{type(error).__name__}: {error}"


def render_ember(model_dir, conversation, add_generation_prompt, work):
    path = os.path.join(work, "conversation.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({key: value for key, value in conversation.items() if key != "name"}, f, ensure_ascii=False)
    command = ["ember-tokenize", "--tokenizer", os.path.join(model_dir, "tokenizer.json"), "--chat-messages", path]
    if not add_generation_prompt:
        command.append("--no-generation-prompt")
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0:
        return None, result.stderr.decode("utf-8", "replace").strip()
    return json.loads(result.stdout.decode("utf-8")), None


def train_tokenizer(conversations):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    corpus = [str(message.get("content")) for conversation in conversations for message in conversation["messages"]]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=ADDED_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(corpus * 4, trainer)
    return tokenizer


def make_model_dir(out, name, source, index, tokenizer):
    model_dir = os.path.join(out, name)
    os.makedirs(model_dir, exist_ok=True)
    tokenizer.save(os.path.join(model_dir, "tokenizer.json"))
    config = dict(SPECIAL_TOKENS)
    if index % 2 == 0:
        with open(os.path.join(model_dir, "chat_template.jinja"), "w", encoding="utf-8") as f:
            f.write(source)
    else:
        config["chat_template"] = source
    with open(os.path.join(model_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    return model_dir


def main():
    templates_dir, conversations_path, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    with open(conversations_path, encoding="utf-8") as f:
        conversations = json.load(f)
    tokenizer = train_tokenizer(conversations)
    failures = cases = 0
    for index, file in enumerate(sorted(os.listdir(templates_dir))):
        with open(os.path.join(templates_dir, file), encoding="utf-8") as f:
            source = f.read()
        name = os.path.splitext(file)[0]
        model_dir = make_model_dir(out, name, source, index, tokenizer)
        raised = 0
        for conversation in conversations:
            for add_generation_prompt in (True, False):
                cases += 1
                case = f"{name} x {conversation['name']} (add_generation_prompt={add_generation_prompt})"
                expected, expected_error = render_reference(source, conversation, add_generation_prompt)
                actual, actual_error = render_ember(model_dir, conversation, add_generation_prompt, out)
                if expected_error or actual_error:
                    if expected_error and actual_error:
                        raised += 1
                        continue
                    failures += 1
                    print(f"FAIL {case}: jinja2: {expected_error or 'renders'}; ember: {actual_error or 'renders'}")
                    continue
                if actual["text"] != expected:
                    failures += 1
                    print(f"FAIL {case}: texts differ\n  jinja2: {expected!r}\n  ember:  {actual['text']!r}")
                elif actual["ids"] != tokenizer.encode(expected, add_special_tokens=False).ids:
                    failures += 1
                    print(f"FAIL {case}: ids differ from HF tokenizers'")
        print(f"{name}: {2 * len(conversations)} cases, {raised} raising in both")
    print(f"cases: {cases}")
    print(f"failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
