"""Parity of ember-tokenize with HF tokenizers on byte-level BPE tokenizers
that HF tokenizers trains here, in the three pre-tokenizer layouts real
models use: GPT-2's (ByteLevel with its regex), Llama 3's (a Split regex,
then ByteLevel without one, ignore_merges) and one with Digits and
add_prefix_space. For every text the ids must be identical, and decoding
them must give HF's text (the text itself where no prefix space is added).

Tokenizer files given as NAME=PATH (ember-synth's) are checked the same
way, loaded by HF.

usage: _tokenizer_parity.py OUT_DIR [NAME=PATH ...]"""

import json
import os
import subprocess
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

CORPUS = [
    "The quick brown fox jumps over the lazy dog. It's 3:45 pm, they're late; we'll see.",
    "Mixture-of-Experts models route each token to 12 of 384 experts, 128 of them zero experts.",
    "N-gram embeddings: hashed tables hold 31B of the 68.5B parameters (embedding sparsity).",
    "def forward(self, x):\n    return self.down(silu(self.gate(x)) * self.up(x))  # SwiGLU\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }\n\treturn sum;",
    "Zürich, Köln, Ærøskøbing, São Paulo, naïve café, façade, Œuvre, ß.",
    "日本語のテキストと中文字符，还有한국어 문장도 있습니다。",
    "Emoji: 👍🏽 🎉 👨‍👩‍👧 ❤️ 🚀 and symbols © ® ™ ° ± × ÷ → ∞.",
    "Numbers 1234567890, 3.14159, -42, 1e-5, 0x7fff, 2026-12-05, $1,234.56.",
    "Whitespace   runs\t\ttabs\n\n\nnewlines    and trailing spaces   ",
    "Ἀρχὴ σοφίας, Привет мир, مرحبا بالعالم, שלום עולם, नमस्ते दुनिया.",
] * 8

TEXTS = CORPUS[:11] + [
    "",
    " ",
    "   leading spaces",
    "trailing spaces   ",
    "\n\n\t x \r\n",
    "special <s> inside </s> text<|user|>hi<|user|><|user|>",
    "<s><s>",
    "CAPS'LL 'S 's 're 've 'm 'd 't I'M",
    "e\u0301 combining, \u200b zero width, \u00a0 no-break space",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "unseen words: xylophone quokka zygote 🦘🦘🦘",
    "12345678901234567890 digits, 1 22 333 4444",
]

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIAL = ["<s>", "</s>", "<|user|>"]


def train(pre_tokenizer, ignore_merges, vocab_size):
    tokenizer = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tokenizer.pre_tokenizer = pre_tokenizer
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(CORPUS, trainer)
    bos = tokenizer.token_to_id("<s>")
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", bos)])
    return tokenizer


LAYOUTS = {
    "gpt2": lambda: train(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), False, 700),
    "llama3": lambda: train(pre_tokenizers.Sequence([
        pre_tokenizers.Split(pattern=__import__("tokenizers").Regex(LLAMA3_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), True, 900),
    "digits-prefix-space": lambda: train(pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)]), False, 500),
}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    failures = 0
    given = dict(arg.split("=", 1) for arg in sys.argv[2:])
    for name, make in list(LAYOUTS.items()) + [(name, None) for name in given]:
        if make:
            tokenizer = make()
            path = os.path.join(out, name + ".json")
            tokenizer.save(path)
        else:
            path = given[name]
            tokenizer = Tokenizer.from_file(path)
        for special in (True, False):
            flags = [] if special else ["--no-special-tokens"]
            ember = json.loads(subprocess.run(["ember-tokenize", "--tokenizer", path, "--json"] + flags,
                                              input=json.dumps(TEXTS), capture_output=True, text=True,
                                              check=True).stdout)
            for text, got in zip(TEXTS, ember):
                want = tokenizer.encode(text, add_special_tokens=special).ids
                decoded = tokenizer.decode(want, skip_special_tokens=False)
                if got["ids"] != want or got["text"] != decoded:
                    failures += 1
                    print(f"MISMATCH {name} special={special} text={text!r}\n  hf    {want} {decoded!r}\n"
                          f"  ember {got['ids']} {got['text']!r}")
                if name != "digits-prefix-space" and not special and decoded != text:
                    failures += 1
                    print(f"NO ROUND TRIP {name} text={text!r} decoded={decoded!r}")
        print(f"{name}: vocabulary {tokenizer.get_vocab_size()}, {len(TEXTS)} texts")
    print(f"failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
