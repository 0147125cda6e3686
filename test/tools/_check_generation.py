#!/usr/bin/env python3
"""Checks ember-run's generation outputs against each other.

Usage: _check_generation.py STDOUT LOGITS.npy STEP_LOGITS.npy PROMPT_IDS MAX_NEW VOCAB EOS
STDOUT holds ember-run --json's output; PROMPT_IDS is the comma-separated prompt.
Checks: the last line is the JSON report; the dumps have the documented
shapes; step row 0 is the last prefill row; each generated id is the argmax
(lowest index on ties) of its step row; generation stopped at MAX_NEW or at
EOS. Then, since the fake artifact's next token is known
(test/unit/runtime/FakeDecoderCall.h, router bias rounding to 0), the ids.
"""

import json
import sys

import numpy as np


def fake_continuation(prompt, max_new, vocab, eos):
    seq, out = list(prompt), []
    while len(out) < max_new:
        p = len(seq) - 1
        nxt = (sum(seq[:p]) + 3 * (seq[p - 1] if p else 0) + seq[p] + p) % vocab
        out.append(nxt)
        seq.append(nxt)
        if nxt == eos:
            break
    return out


def main():
    stdout, logits_path, step_path, prompt_text, max_new, vocab, eos = sys.argv[1:]
    prompt = [int(t) for t in prompt_text.split(",")]
    max_new, vocab, eos = int(max_new), int(vocab), int(eos)
    with open(stdout) as f:
        report = json.loads(f.read().splitlines()[-1])
    ids = report["generated_ids"]
    assert report["prompt_tokens"] == len(prompt), report
    stats = report["stats"]
    for key in ("prefill_s", "decode_s", "decode_tokens_per_s", "prefill_tokens_per_s", "load_s"):
        assert stats[key] >= 0, (key, stats)
    # The first token comes with the (first sequence's) prefill.
    assert 0 < stats["time_to_first_token_s"] <= stats["prefill_s"], stats
    assert stats["time_to_first_token_s"] == report["sequences"][0]["time_to_first_token_s"], report

    logits, step = np.load(logits_path), np.load(step_path)
    assert logits.dtype == np.float32 and logits.shape == (len(prompt), vocab), logits.shape
    assert step.dtype == np.float32 and step.shape == (len(ids), vocab), step.shape
    if ids:
        assert np.array_equal(step[0], logits[-1]), "step row 0 is not the last prefill row"
    assert [int(i) for i in step.argmax(axis=1)] == ids, (step.argmax(axis=1), ids)
    assert len(ids) == max_new or (ids and ids[-1] == eos and len(ids) < max_new), ids
    want = fake_continuation(prompt, max_new, vocab, eos)
    assert ids == want, f"generated {ids}, the fake's rule gives {want}"
    print(f"OK {len(ids)} tokens")


if __name__ == "__main__":
    main()
