"""ember-run --chat and --messages against the reference: the synthesized
model's chat template (tokenizer_config.json) rendered by python jinja2 as
HF transformers renders it, encoded by HF tokenizers without special tokens,
given to ember-run as --prompt-ids, must generate the same ids from the
same number of prompt tokens as ember-run rendering and encoding it itself.

usage: _check_chat.py MODEL_DIR WORK_DIR"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "chat"))
from _render_reference import hf_environment  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

CONVERSATIONS = [
    ("--chat", ["--prompt", "Where is the station?"],
     [{"role": "user", "content": "Where is the station?"}]),
    ("--chat --system", ["--system", "You answer in one word. ", "--prompt", "How are you today? 🙂"],
     [{"role": "system", "content": "You answer in one word. "},
      {"role": "user", "content": "How are you today? 🙂"}]),
    ("--messages", None,
     [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, how can I help?"},
      {"role": "user", "content": "Tell me   about\nthe weather."}]),
]


def ember_run(model, extra):
    out = subprocess.run(["ember-run", "--model", model, "--max-new-tokens", "6", "--json", "--quiet", *extra],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    model, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    config = json.load(open(os.path.join(model, "tokenizer_config.json")))
    template = hf_environment().from_string(config["chat_template"])
    tokenizer = Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
    for name, flags, messages in CONVERSATIONS:
        text = template.render(messages=messages, tools=None, documents=None, add_generation_prompt=True,
                               bos_token=config["bos_token"], eos_token=config["eos_token"])
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        if flags is None:
            path = os.path.join(work, "messages.json")
            json.dump(messages, open(path, "w"), ensure_ascii=False)
            flags = ["--messages", path]
        else:
            flags = ["--chat"] + flags
        got = ember_run(model, flags)
        want = ember_run(model, ["--prompt-ids", ",".join(map(str, ids))])
        assert got["prompt_tokens"] == len(ids), (name, got["prompt_tokens"], len(ids), text)
        assert got["generated_ids"] == want["generated_ids"], (name, got, want)
        print(f"{name}: {len(ids)} prompt tokens as the reference renders and encodes {text!r}")


if __name__ == "__main__":
    main()
