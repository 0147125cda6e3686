"""A load test of ember-serve on the tiny model: 32 concurrent streaming
clients (OpenAI's Python client, one thread each) send 4 rounds of requests,
all of a round at once (32 requests for 8 slots: most wait in the queue),
greedy and sampled with their own seeds and lengths. Every response must be
complete and equal to the same request served alone (sent one at a time
before the load), none may be lost, steps must have batched several
sequences, and /metrics must count exactly what was served.

usage: _load.py MODEL_DIR"""

import re
import sys
import threading
import time
import urllib.request

import openai

from _serve import EmberServe

CLIENTS, REQUESTS_EACH = 32, 4
PROMPTS = ["Where is the station?", "The weather today", "Tell me a story about", "1, 2, 3,",
           "Hello", "A long time ago", "Question: why? Answer:", "ember serves"]


def request_options(index):
    """Request `index`'s options: lengths and sampling vary with it."""
    options = {"prompt": PROMPTS[index % len(PROMPTS)], "max_tokens": 8 + index % 25, "seed": index,
               "temperature": 0 if index % 3 == 0 else 0.9}
    if index % 4 == 1:
        options["stop"] = ["e"]
    return options


def streamed(client, name, options):
    text, ids, finish = "", [], None
    for chunk in client.completions.create(model=name, stream=True, extra_body={"return_token_ids": True},
                                           **options):
        for choice in chunk.choices:
            text += choice.text
            ids += choice.model_extra.get("token_ids") or []
            finish = choice.finish_reason or finish
    return text, ids, finish


def metrics(url):
    text = urllib.request.urlopen(url + "/metrics").read().decode()
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\S+) ([0-9.e+]+)$", text, re.M)}


def main():
    model = sys.argv[1]
    total = CLIENTS * REQUESTS_EACH
    with EmberServe(model, "--batch", "8", "--max-queue", "64") as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=300)
        name = client.models.list().data[0].id
        alone = [streamed(client, name, request_options(i)) for i in range(total)]
        before = metrics(server.url)

        results, failures = {}, []

        # The clients send each round's requests at once (a barrier per
        # round), so they queue beyond the slots and the server, not the
        # clients' pace, decides how full its steps are.
        clients = [openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0, timeout=300)
                   for _ in range(CLIENTS)]
        round_start = threading.Barrier(CLIENTS)

        def run_client(c):
            own = clients[c]
            for r in range(REQUESTS_EACH):
                index = c * REQUESTS_EACH + r
                try:
                    round_start.wait(timeout=300)
                    results[index] = streamed(own, name, request_options(index))
                except Exception as error:  # reported below, with the others
                    failures.append("request %d: %r" % (index, error))

        threads = [threading.Thread(target=run_client, args=(c,)) for c in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            sys.exit("\n".join(failures))
        differing = [i for i in range(total) if results.get(i) != alone[i]]
        if differing:
            i = differing[0]
            sys.exit("%d responses differ from the request alone, e.g. %d: %r vs %r" %
                     (len(differing), i, results.get(i), alone[i]))
        unfinished = [i for i in range(total) if results[i][2] not in ("stop", "length")]
        print("%d clients x %d streamed requests: %d complete, equal to each request alone, %d unfinished" %
              (CLIENTS, REQUESTS_EACH, len(results), len(unfinished)))

        served = lambda m, key: m.get(key, 0)
        ok = 'ember_http_responses_total{path="/v1/completions",status="200"}'
        # A response is counted once its last bytes are written, which may
        # be just after the client has read them.
        deadline = time.time() + 30
        while served(metrics(server.url), ok) - served(before, ok) < total and time.time() < deadline:
            time.sleep(0.05)
        after = metrics(server.url)
        finished = sum(served(after, 'ember_requests_finished_total{reason="%s"}' % r) -
                       served(before, 'ember_requests_finished_total{reason="%s"}' % r) for r in ("stop", "length"))
        tokens = served(after, "ember_generation_tokens_total") - served(before, "ember_generation_tokens_total")
        print("metrics: %d responses 200, %d finished, %d tokens (%d streamed), first-token count %d, "
              "running %d, queued %d" %
              (served(after, ok) - served(before, ok), finished, tokens, sum(len(r[1]) for r in results.values()),
               served(after, "ember_time_to_first_token_seconds_count") -
               served(before, "ember_time_to_first_token_seconds_count"),
               after["ember_running_requests"], after["ember_queued_requests"]))
        # Batching, in measures that hold at any pace of the clients: the
        # rounds' tails run few sequences, but some step ran more than half
        # the slots, and most of the sequences' steps were shared with others.
        delta = lambda key: served(after, key) - served(before, key)
        steps = delta("ember_step_running_sequences_count")
        sequence_steps = delta("ember_step_running_sequences_sum")
        alone = delta('ember_step_running_sequences_bucket{le="1"}')
        most = min(bound for bound in (1, 2, 4, 8)
                   if delta('ember_step_running_sequences_bucket{le="%d"}' % bound) == steps)
        shared = (sequence_steps - alone) / sequence_steps
        print("steps under load: %d, the fullest with %d to %d sequences; %d%% of the sequences' steps shared"
              % (steps, most // 2 + 1, most, round(100 * shared)))
        if most < 8 or shared < 0.5:
            sys.exit("the load did not batch: no step ran more than 4 sequences, or most ran alone")


if __name__ == "__main__":
    main()
