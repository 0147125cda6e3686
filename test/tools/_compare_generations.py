"""Checks that ember-run --json runs (plain first, then speculative ones)
generated the same tokens, and prints each speculative run's counts."""
import json
import sys


def load(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


runs = [load(path) for path in sys.argv[1:]]
reference = runs[0]["generated_ids"]
for path, run in zip(sys.argv[1:], runs):
    if run["generated_ids"] != reference:
        sys.exit(f"FAIL {path}: {run['generated_ids']} != plain {reference}")
print(f"OK {len(runs)} runs generate the same {len(reference)} tokens")
for run in runs[1:]:
    stats = run["stats"]
    print(f"{stats['speculative']}: drafted {stats['drafted_tokens']}, accepted {stats['accepted_tokens']}, "
          f"forwards {stats['target_forwards']}")
