"""Runs ember-serve for a test: started on a free loopback port, its address
read from the line it prints once serving, stopped with SIGTERM (which must
drain and exit 0).

As a module: `with EmberServe(model, "--batch", "4") as server: server.url`.
As a script, to run one command against a server:
  _serve.py MODEL_DIR [SERVER FLAGS...] -- COMMAND ARGS...   ({url} in ARGS
  becomes the server's address); prints the command's output and exits
  with its status."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

STARTUP_SECONDS = 300  # a cold artifact cache compiles the model first


class EmberServe:
    def __init__(self, model, *flags):
        self.command = ["ember-serve", "--model", model, "--port", "0", *flags]
        self.stderr = []

    def __enter__(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + STARTUP_SECONDS
        for line in self.process.stderr:
            self.stderr.append(line)
            found = re.search(r"on (http://[0-9.]+:[0-9]+)$", line.strip())
            if found:
                self.url = found.group(1)
                break
            if time.time() > deadline:
                break
        else:
            raise RuntimeError("ember-serve exited before serving:\n" + "".join(self.stderr))
        if not hasattr(self, "url"):
            self.process.kill()
            raise RuntimeError("ember-serve did not start in time:\n" + "".join(self.stderr))
        self.reader = threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True)
        self.reader.start()
        return self

    def stop(self, timeout=120):
        """SIGTERM, then the exit status (killed after `timeout` seconds)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise RuntimeError("ember-serve did not stop within %d s of SIGTERM" % timeout)

    def __exit__(self, kind, value, traceback):
        status = self.stop()
        self.reader.join(5)
        if kind is None and status != 0:
            raise RuntimeError("ember-serve exited %d after SIGTERM:\n%s" % (status, "".join(self.stderr)))


def main():
    split = sys.argv.index("--")
    model, flags, command = sys.argv[1], sys.argv[2:split], sys.argv[split + 1:]
    with EmberServe(model, *flags) as server:
        result = subprocess.run([arg.replace("{url}", server.url) for arg in command])
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
