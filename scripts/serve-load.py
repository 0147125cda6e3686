#!/usr/bin/env python3
"""Benchmark (not a test): ember-serve under a bounded open-loop load on
loopback. For each request rate, N requests arrive at Poisson times (seeded)
whatever the server's progress, each streaming a completion of a random
prompt with ignore_eos (fixed lengths). Reports throughput, time to first
token and inter-token latency (p50/p99) per rate, next to the same requests
run as one offline batch by ember-run with as many slots, in the same run.

usage: scripts/serve-load.py --model DIR [--rates 1,4,16] [--requests 32]
         [--prompt-tokens 32] [--max-tokens 64] [--batch 8] [--backend cpu]
       (ember-serve and ember-run from build/bin; standard library only)"""

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "serve"))
from _serve import EmberServe  # noqa: E402  (the tests' launcher: one place starts and stops the server)


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def stream_one(url, prompt, max_tokens, record):
    """Streams one completion; records (send, first token, [(time, tokens)], end)."""
    address = urlparse(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=600)
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True, "stream": True,
            "return_token_ids": True}
    sent = time.perf_counter()
    connection.request("POST", "/v1/completions", body=json.dumps(body))
    response = connection.getresponse()
    arrivals = []
    for line in response:
        line = line.strip()
        if line.startswith(b"data: {"):
            tokens = len(json.loads(line[6:])["choices"][0].get("token_ids") or [])
            if tokens:
                arrivals.append((time.perf_counter(), tokens))
    connection.close()
    record.append((sent, arrivals, time.perf_counter(), response.status))


def run_rate(url, prompts, max_tokens, rate, seed):
    rng = random.Random(seed)
    records, threads = [], []
    start = time.perf_counter()
    due = start
    for prompt in prompts:
        due += rng.expovariate(rate)
        time.sleep(max(0.0, due - time.perf_counter()))
        thread = threading.Thread(target=stream_one, args=(url, prompt, max_tokens, records))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    end = max(r[2] for r in records)
    ttft = [arrivals[0][0] - sent for sent, arrivals, _, _ in records if arrivals]
    itl = []
    for _, arrivals, _, _ in records:
        for (before, _), (after, tokens) in zip(arrivals, arrivals[1:]):
            itl += [(after - before) / tokens] * tokens
    tokens = sum(n for _, arrivals, _, _ in records for _, n in arrivals)
    complete = sum(1 for _, arrivals, _, status in records
                   if status == 200 and sum(n for _, n in arrivals) == max_tokens)
    return {"rate": rate, "complete": complete, "tokens_per_s": tokens / (end - start),
            "requests_per_s": len(records) / (end - start), "ttft": ttft, "itl": itl}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--rates", default="1,4,16", help="requests per second, comma-separated")
    parser.add_argument("--requests", type=int, default=32, help="requests per rate")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8, help="sequence slots of the server and the offline batch")
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ["PATH"] = os.path.join(ROOT, "build", "bin") + os.pathsep + os.environ["PATH"]
    vocab = json.load(open(os.path.join(args.model, "config.json")))["vocab_size"]
    rng = random.Random(args.seed)
    prompts = [[rng.randrange(3, vocab) for _ in range(args.prompt_tokens)] for _ in range(args.requests)]

    # The offline batch: the same requests, all queued at once, as many slots.
    out = subprocess.run(["ember-run", "--model", args.model, "--backend", args.backend, "--quiet", "--json",
                          "--prompt-ids", ";".join(",".join(map(str, p)) for p in prompts), "--batch",
                          str(args.batch), "--max-new-tokens", str(args.max_tokens), "--ignore-eos",
                          "--temperature", "0"], capture_output=True, text=True, check=True).stdout
    stats = json.loads(out.splitlines()[-1])["stats"]
    offline = args.requests * args.max_tokens / (stats["prefill_s"] + stats["decode_s"])

    print("ember-serve open-loop load: %s, %d requests per rate, %d prompt tokens, %d generated each, %d slots, %s"
          % (os.path.basename(os.path.normpath(args.model)), args.requests, args.prompt_tokens, args.max_tokens,
             args.batch, args.backend))
    print("%8s %9s %10s %8s %10s %10s %10s %10s" % ("req/s in", "complete", "tokens/s", "req/s", "TTFT p50",
                                                     "TTFT p99", "ITL p50", "ITL p99"))
    with EmberServe(args.model, "--batch", str(args.batch), "--max-queue", str(args.requests),
                    "--backend", args.backend, "--quiet") as server:
        for rate in [float(r) for r in args.rates.split(",")]:
            r = run_rate(server.url, prompts, args.max_tokens, rate, args.seed)
            print("%8g %4d/%-4d %10.1f %8.2f %8.1fms %8.1fms %8.2fms %8.2fms" %
                  (rate, r["complete"], args.requests, r["tokens_per_s"], r["requests_per_s"],
                   1e3 * statistics.median(r["ttft"]), 1e3 * percentile(r["ttft"], 99),
                   1e3 * statistics.median(r["itl"]), 1e3 * percentile(r["itl"], 99)))
    print("offline batch (ember-run --batch %d, all requests at once): %.1f tokens/s" % (args.batch, offline))


if __name__ == "__main__":
    main()
