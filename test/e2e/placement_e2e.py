# RUN: %python %s %t
"""The word embedding and n-gram tables in host or device memory (--tables).

On CUDA, ember-run --tables host (the default) keeps the gathered weights
in pinned host memory that kernels read over the bus, everything else in
device memory; --tables device puts all of it on the device. Whatever the
placement, each generation (greedy, and sampled with n-gram or MTP
speculation) must give the same ids and log-probabilities, bit for bit, and
--json's stats.weight_bytes must say where the bytes went: in host memory
exactly the word embedding and the n-gram tables, as the checkpoint's own
headers size them; in all, every byte of the decoder's weights, and with
the MTP drafter only its own tensors more (it shares the target's word
embedding and lm_head, placed once). On the CPU every
weight the checkpoint holds back to back stays mapped from it, whatever
--tables says. With `--backend cuda` this runs on the fake CUDA device,
whose pinned memory has a device address of its own (so a kernel handed
the host address would fault) and whose copies refuse host pointers.
Usage: placement_e2e.py WORKDIR (created afresh, removed again when all pass).
"""

import json
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _tools import backend_args, finish, run, synthesized_models  # noqa: E402

PROMPTS = [[5, 9, 11, 5, 9, 11, 5, 9], [3, 40, 2, 17]]
MODES = {"greedy": [], "sampled ngram": ["--temperature", "0.9", "--speculative", "ngram"],
         "sampled mtp": ["--temperature", "0.9", "--speculative", "mtp"]}
DTYPE_BYTES = {"F32": 4, "BF16": 2, "F16": 2}


def tensor_bytes(model):
    """{name: bytes} of every tensor in the checkpoint's safetensors files."""
    sizes = {}
    for file in sorted(os.listdir(model)):
        if file.endswith(".safetensors"):
            with open(os.path.join(model, file), "rb") as f:
                (length,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(length))
            for name, info in header.items():
                if name != "__metadata__":
                    begin, end = info["data_offsets"]
                    sizes[name] = end - begin
    return sizes


def generate(model, extra):
    argv = ["ember-run", "--model", model, "--prompt-ids", ";".join(",".join(map(str, p)) for p in PROMPTS),
            "--max-new-tokens", "10", "--json", "--quiet", "--logprobs", "--seed", "3"] + extra + backend_args()
    return json.loads(run(argv).strip().splitlines()[-1])


def check(model):
    """(ok, message) for one checkpoint."""
    sizes = tensor_bytes(model)
    gathered = sizes["model.embed_tokens.weight"] + sum(
        size for name, size in sizes.items() if name.startswith("model.ngram_embeddings.embedders."))
    cuda = backend_args() == ["--backend", "cuda"]
    totals = {}
    for mode, extra in MODES.items():
        runs = {tables: generate(model, extra + ["--tables", tables]) for tables in ("host", "device")}
        for key in ("generated_ids", "logprobs"):
            got = [s[key] for s in runs["host"]["sequences"]]
            want = [s[key] for s in runs["device"]["sequences"]]
            if got != want:
                return False, f"{mode}: {key} {got} with the tables in host memory, {want} in device memory"
        weights = {tables: {where: r["stats"]["weight_bytes"][where] for where in ("mapped", "device", "host")}
                   for tables, r in runs.items()}
        total = sum(weights["device"].values())
        totals[mode] = total
        want_host = {"host": gathered if cuda else 0, "device": 0}
        for tables, placed in weights.items():
            if placed["host"] != want_host[tables]:
                return False, f"{mode} --tables {tables}: {placed} holds {placed['host']} bytes in host memory, " \
                              f"want {want_host[tables]}"
            if sum(placed.values()) != total or (placed["mapped"] != 0) == cuda:
                return False, f"{mode} --tables {tables}: {placed}, {total} bytes in all"
    # The drafter adds its own tensors only: it shares the target's word
    # embedding and lm_head, placed once.
    mtp_own = sum(size for name, size in sizes.items() if name.startswith("model.mtp."))
    if totals["sampled mtp"] != totals["greedy"] + mtp_own:
        return False, (f"with the MTP drafter {totals['sampled mtp']} bytes of weights, want the target's "
                       f"{totals['greedy']} + the drafter's own {mtp_own}")
    return True, f"{gathered} bytes of tables, {totals['greedy']} of weights, {mtp_own} more with the drafter"


def main():
    work = sys.argv[1]
    shutil.rmtree(work, ignore_errors=True)
    failed = False
    for _, _, _, label, model, error in synthesized_models(work, ["tiny"], [1], ["bf16", "f32"]):
        ok, message = (False, error) if error else check(model)
        print(f"{label:20} {'ok' if ok else 'FAIL'}  {message}")
        failed |= not ok
    finish(work, failed)


if __name__ == "__main__":
    main()
