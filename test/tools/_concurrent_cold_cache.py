"""Starts four ember-run processes at once on one cold artifact cache and
checks that exactly one of them compiled (the others waited on the cache
lock, then found the artifact), that all four generated the same ids, and
that the cache holds one artifact and no temporaries.

Usage: _concurrent_cold_cache.py MODEL_DIR CACHE_DIR
Prints "1 compile for 4 processes" and "same ids" on success."""

import os
import subprocess
import sys


def main():
    model, cache = sys.argv[1:]
    command = ["ember-run", "--model", model, "--prompt-ids", "1,5,7", "--max-new-tokens", "3", "--cache-dir", cache]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [run.communicate(timeout=600) for run in runs]
    for run, (out, err) in zip(runs, outputs):
        if run.returncode != 0:
            sys.exit(f"ember-run failed ({run.returncode}): {err}")
    # The summary says "(cache miss, compiled in ...)" or "(cache hit)".
    compiles = sum(out.count("(cache miss") for out, _ in outputs)
    print(f"{compiles} compile for {len(runs)} processes")
    ids = {line for out, _ in outputs for line in out.splitlines() if line.startswith("generated ")}
    print("same ids" if len(ids) == 1 else f"different ids: {ids}")
    entries = sorted(os.listdir(cache))
    artifacts = [e for e in entries if e.endswith(".so")]
    leftovers = [e for e in entries if ".tmp." in e]
    if len(artifacts) != 1 or leftovers:
        sys.exit(f"cache holds {entries}")


main()
