# RUN: %python %s %t
"""--repetition-penalty as HF's RepetitionPenaltyLogitsProcessor, greedy.

ember-run generates greedily from a random ember-synth checkpoint (tiny,
seed 1, f32 and bf16) with --repetition-penalty 1.8 and dumps the raw logits
each token was chosen from (--dump-step-logits). The reference applies HF's
processor to those rows in torch (gather the scores of the tokens so far,
prompt included, torch.where(score < 0, score * p, score / p), scatter back)
and takes the argmax: it must be the token ember chose at every step. The
penalty must change at least one choice (else the test proves nothing), and
the MTP and prompt-lookup drafters must give the same ids as the plain run.
Usage: repetition_penalty_e2e.py WORKDIR (created afresh, removed when all pass).
"""

import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from _tools import finish, run, synthesized_models  # noqa: E402

PENALTY = 1.8
MAX_NEW = 20
PROMPT = [5, 9, 11, 5, 9, 11, 5, 9, 11, 40, 7]


def generate(model, extra, dump=None):
    argv = ["ember-run", "--model", model, "--prompt-ids", ",".join(map(str, PROMPT)), "--max-new-tokens",
            str(MAX_NEW), "--json", "--quiet", "--repetition-penalty", str(PENALTY)] + extra
    if dump:
        argv += ["--dump-step-logits", dump]
    return json.loads(run(argv).strip().splitlines()[-1])["generated_ids"]


def hf_penalized_argmax(row, previous):
    """HF transformers' RepetitionPenaltyLogitsProcessor.__call__, then argmax."""
    scores = torch.from_numpy(row).unsqueeze(0)
    input_ids = torch.tensor([previous])
    score = torch.gather(scores, 1, input_ids)
    score = torch.where(score < 0, score * PENALTY, score / PENALTY)
    scores = scores.scatter(1, input_ids, score)
    return int(torch.argmax(scores, dim=-1))


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.environ["EMBER_CACHE_DIR"] = os.path.join(work, "cache")
    failures, changed = [], 0
    for _, _, _, label, model, error in synthesized_models(work, ["tiny"], [1], ["f32", "bf16"]):
        if error:
            failures.append(f"{label}: {error}")
            continue
        dump = os.path.join(work, label.replace(" ", "-") + ".npy")
        ids = generate(model, [], dump)
        rows = np.load(dump)
        for step, token in enumerate(ids):
            want = hf_penalized_argmax(rows[step], PROMPT + ids[:step])
            if want != token:
                failures.append(f"{label} step {step}: ember chose {token}, HF's penalty gives {want}")
            changed += int(np.argmax(rows[step])) != token
        for mode in (["--speculative", "mtp", "--draft-steps", "3"], ["--speculative", "ngram"]):
            if generate(model, mode) != ids:
                failures.append(f"{label} {' '.join(mode)}: {generate(model, mode)} != plain {ids}")
        print(f"{label}: {len(ids)} penalized greedy tokens match HF's processor; drafters agree")
    if changed == 0:
        failures.append("the penalty changed no choice: the test shows nothing")
    print(f"the penalty changed {changed} choices")
    for failure in failures:
        print("FAIL:", failure)
    finish(work, failures)


if __name__ == "__main__":
    main()
