"""Helpers shared by the end-to-end tests (not a test: lit skips `_` files)."""

import shutil
import subprocess
import sys


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
