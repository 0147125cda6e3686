"""Kills ember-run (SIGKILL) while its ember-compile child runs, then checks
that the child died with it, and that the next ember-run sweeps what the
killed compile left in the cache and compiles anew.

Usage: _kill_during_compile.py MODEL_DIR CACHE_DIR
Prints "child died with its parent" and "no temporaries left" on success."""

import os
import signal
import subprocess
import sys
import time


def children(pid):
    """Pids whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def main():
    model, cache = sys.argv[1:]
    run = ["ember-run", "--model", model, "--prompt-ids", "1,5", "--cache-dir", cache, "--quiet"]
    parent = subprocess.Popen(run, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    compiler = []
    while not compiler and time.time() < deadline and parent.poll() is None:
        compiler = children(parent.pid)
        time.sleep(0.01)
    if not compiler:
        sys.exit("FAIL: ember-run started no ember-compile child")
    time.sleep(0.2)  # let it write something
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    # The compile takes seconds; killed with its parent, it is gone at once.
    deadline = time.time() + 1
    while alive(compiler[0]) and time.time() < deadline:
        time.sleep(0.02)
    if alive(compiler[0]):
        os.kill(compiler[0], signal.SIGKILL)
        sys.exit(f"FAIL: ember-compile {compiler[0]} outlived its killed parent")
    print("child died with its parent")
    subprocess.run(run, check=True, stderr=subprocess.DEVNULL)
    left = [name for name in os.listdir(cache) if ".tmp." in name]
    if left:
        sys.exit(f"FAIL: temporaries left in the cache: {left}")
    print("no temporaries left")


if __name__ == "__main__":
    main()
