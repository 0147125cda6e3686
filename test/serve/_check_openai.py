"""ember-serve through OpenAI's Python client on the tiny model: completions
and chat, streamed and not, greedy and sampled with a seed, with a stop
string and with log-probabilities. Each response must hold the text and ids
ember-run gives for the same prompt and options (return_token_ids), its
finish reason and usage; streamed, the chunks must add up to the same.

usage: _check_openai.py MODEL_DIR"""

import json
import re
import subprocess
import sys
import urllib.request

import openai

from _serve import EmberServe

PROMPT = "Where is the station? The model reads"
QUESTION = "How are you today?"
MAX_TOKENS = 16


def ember_run(model, *flags):
    out = subprocess.run(["ember-run", "--model", model, "--max-new-tokens", str(MAX_TOKENS), "--json", "--quiet",
                          *flags], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])["sequences"][0]


def expect(label, got, want):
    if got != want:
        sys.exit("%s: got %r, want %r" % (label, got, want))


def check_response(label, choice, usage, reference):
    text = choice.text if hasattr(choice, "text") else choice.message.content
    expect(label + " text", text, reference["text"])
    expect(label + " ids", choice.model_extra["token_ids"], reference["generated_ids"])
    expect(label + " finish_reason", choice.finish_reason, reference["finish_reason"])
    expect(label + " usage", (usage.prompt_tokens, usage.completion_tokens),
           (reference["prompt_tokens"], len(reference["generated_ids"])))


def check_stream(label, chunks, reference):
    text, ids, finish, usage, roles = "", [], None, None, []
    for chunk in chunks:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if hasattr(choice, "delta"):
                text += choice.delta.content or ""
                roles += [choice.delta.role] if choice.delta.role else []
            else:
                text += choice.text
            ids += choice.model_extra.get("token_ids") or []
            finish = choice.finish_reason or finish
    expect(label + " streamed text", text, reference["text"])
    expect(label + " streamed ids", ids, reference["generated_ids"])
    expect(label + " streamed finish_reason", finish, reference["finish_reason"])
    expect(label + " streamed usage", (usage.prompt_tokens, usage.completion_tokens),
           (reference["prompt_tokens"], len(ids)))
    if chunks and hasattr(chunks[0].choices[0], "delta"):
        expect(label + " streamed roles", roles, ["assistant"])


def main():
    model = sys.argv[1]
    greedy = ember_run(model, "--prompt", PROMPT, "--temperature", "0")
    text = greedy["text"]
    # A stop string that first occurs a few characters into the greedy text.
    start = next(i for i in range(4, len(text) - 2) if text.find(text[i:i + 2]) == i)
    stop = text[start:start + 2]
    cases = [
        ("greedy", {"temperature": 0}, {}, ["--temperature", "0"]),
        ("sampled, seed 7", {"temperature": 0.8, "top_p": 0.9, "seed": 7}, {},
         ["--temperature", "0.8", "--top-p", "0.9", "--seed", "7"]),
        ("top_k 5, seed 3", {"temperature": 1.0, "seed": 3}, {"top_k": 5},
         ["--temperature", "1", "--top-k", "5", "--seed", "3"]),
        ("stop string", {"temperature": 0, "stop": [stop]}, {}, ["--temperature", "0", "--stop", json.dumps([stop])]),
    ]
    with EmberServe(model, "--batch", "4") as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=300)
        name = client.models.list().data[0].id
        for label, options, extra, flags in cases:
            extra = dict(extra, return_token_ids=True)
            reference = ember_run(model, "--prompt", PROMPT, *flags)
            completion_end = "%s after %d tokens" % (reference["finish_reason"], len(reference["generated_ids"]))
            response = client.completions.create(model=name, prompt=PROMPT, max_tokens=MAX_TOKENS, extra_body=extra,
                                                 **options)
            check_response("completions, " + label, response.choices[0], response.usage, reference)
            chunks = list(client.completions.create(model=name, prompt=PROMPT, max_tokens=MAX_TOKENS,
                                                    extra_body=extra, stream=True,
                                                    stream_options={"include_usage": True}, **options))
            check_stream("completions, " + label, chunks, reference)

            reference = ember_run(model, "--chat", "--prompt", QUESTION, *flags)
            messages = [{"role": "user", "content": QUESTION}]
            response = client.chat.completions.create(model=name, messages=messages, max_tokens=MAX_TOKENS,
                                                      extra_body=extra, **options)
            check_response("chat, " + label, response.choices[0], response.usage, reference)
            chunks = list(client.chat.completions.create(model=name, messages=messages, max_tokens=MAX_TOKENS,
                                                         extra_body=extra, stream=True,
                                                         stream_options={"include_usage": True}, **options))
            check_stream("chat, " + label, chunks, reference)
            print("%s: completions and chat, streamed and not, as ember-run (completions: %s; chat: %s after %d)" %
                  (label, completion_end, reference["finish_reason"], len(reference["generated_ids"])))

        # Log-probabilities: the chosen tokens' values ember-run --logprobs gives.
        reference = ember_run(model, "--prompt", PROMPT, "--temperature", "0", "--logprobs")
        response = client.completions.create(model=name, prompt=PROMPT, max_tokens=MAX_TOKENS, temperature=0,
                                             logprobs=0)
        got = response.choices[0].logprobs.token_logprobs
        expect("completions logprobs count", len(got), len(reference["logprobs"]))
        worst = max(abs(a - b) for a, b in zip(got, reference["logprobs"]))
        if worst > 1e-9:
            sys.exit("completions logprobs differ from ember-run's by %g" % worst)
        response = client.chat.completions.create(model=name, messages=[{"role": "user", "content": QUESTION}],
                                                  max_tokens=MAX_TOKENS, temperature=0, logprobs=True)
        content = response.choices[0].logprobs.content
        expect("chat logprobs count", len(content), len(response.choices[0].model_extra.get("token_ids") or content))
        print("logprobs: %d values as ember-run --logprobs, chat gives %d" % (len(got), len(content)))

    # Speculation is a server option: prompt lookup or the MTP block drafts,
    # the output stays plain greedy decoding's, and /metrics counts the drafts.
    repetitive = "one two three one two three one two three one two"
    reference = ember_run(model, "--prompt", repetitive, "--temperature", "0")
    for mode in ("ngram", "mtp"):
        with EmberServe(model, "--speculative", mode) as server:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=300)
            response = client.completions.create(model=name, prompt=repetitive, max_tokens=MAX_TOKENS,
                                                 temperature=0, extra_body={"return_token_ids": True})
            check_response("speculative " + mode, response.choices[0], response.usage, reference)
            metrics = urllib.request.urlopen(server.url + "/metrics").read().decode()
            drafted = re.search(r"^ember_speculative_drafted_tokens_total (\d+)$", metrics, re.M).group(1)
            print("speculative %s: %d tokens as plain greedy ember-run, %s drafted" %
                  (mode, len(reference["generated_ids"]), "some" if int(drafted) > 0 else "none"))


if __name__ == "__main__":
    main()
