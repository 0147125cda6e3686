"""Helpers shared by the end-to-end tests (not a test: lit skips `_` files)."""

import itertools
import os
import shutil
import subprocess
import sys


def backend_args():
    """["--backend", NAME] when the test was given `--backend NAME` (test/e2e/cuda
    runs each end-to-end test again with --backend cuda, on the fake CUDA device
    that executes the artifact's own kernels on the CPU), else []."""
    if "--backend" in sys.argv:
        return ["--backend", sys.argv[sys.argv.index("--backend") + 1]]
    return []


def run(argv):
    """Runs a tool; returns its stdout, or raises with its command and stderr tail."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True)
    except OSError as e:  # e.g. the tool is not on PATH
        raise RuntimeError(f"{argv[0]}: {e}")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}\nexit {proc.returncode}: "
                           f"{proc.stderr.strip()[-2000:]}")
    return proc.stdout


def finish(work, failed):
    """Exits 1 keeping `work` for inspection if anything failed, else removes it."""
    if failed:
        print(f"kept {work} for inspection")
        sys.exit(1)
    shutil.rmtree(work)


def on_fake_device():
    """Whether the test runs on the fake CUDA device, where a run takes
    seconds (the CPU takes milliseconds): tests checking a property that the
    seeds and dtypes do not change run fewer checkpoints there."""
    return backend_args() == ["--backend", "cuda"]


def synthesized_models(work, presets, seeds, dtypes):
    """Yields (preset, seed, dtype, label, model, error) for a fresh ember-synth
    checkpoint at WORK/<preset>-<seed>-<dtype>/model per combination; error is
    ember-synth's failure message (model then does not exist), else None."""
    for preset, seed, dtype in itertools.product(presets, seeds, dtypes):
        label = f"{preset} s{seed} {dtype}"
        model = os.path.join(work, f"{preset}-{seed}-{dtype}", "model")
        try:
            run(["ember-synth", "--preset", preset, "--seed", str(seed), "--dtype", dtype, "-o", model])
            yield preset, seed, dtype, label, model, None
        except RuntimeError as e:
            yield preset, seed, dtype, label, model, str(e)
