"""Stop strings through ember-run --stop: a run cut at a string taken from
the middle of an unstopped run's text must end its text right before that
string, with finish_reason "stop" and a prefix of the unstopped ids. The
streamed text (no --json) must be the same text, also for a stop string
whose start the text holds but which never completes (held back while it
might, then released).

usage: _check_stop.py MODEL_DIR"""

import json
import subprocess
import sys


def run(model, *extra):
    out = subprocess.run(["ember-run", "--model", model, "--prompt", "Where is the station? The model reads",
                          "--max-new-tokens", "24", "--json", "--quiet", *extra],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def streamed(model, *extra):
    """The text ember-run streams to stdout: everything before the blank line
    that separates it from the summary."""
    out = subprocess.run(["ember-run", "--model", model, "--prompt", "Where is the station? The model reads",
                          "--max-new-tokens", "24", *extra],
                         capture_output=True, check=True).stdout.decode("utf-8", errors="replace")
    return out[:out.index("\n\n")]


def main():
    model = sys.argv[1]
    full = run(model)
    text = full["text"]
    assert full["finish_reason"] == "length" and len(text) > 8, full
    # A stop string that first occurs after the text's first few characters.
    start = next(i for i in range(4, len(text) - 2) if text.find(text[i:i + 2]) == i)
    stop = text[start:start + 2]
    for value in (stop, json.dumps(["never in the text", stop])):
        cut = run(model, "--stop", value)
        assert cut["finish_reason"] == "stop", cut
        assert cut["text"] == text[:start], (cut["text"], text[:start])
        assert full["generated_ids"][:len(cut["generated_ids"])] == cut["generated_ids"], (cut, full)
        assert len(cut["generated_ids"]) < len(full["generated_ids"])
        assert streamed(model, "--stop", value) == text[:start], (streamed(model, "--stop", value), text[:start])
    never = stop + "\u2603never"
    assert streamed(model, "--stop", never) == text, (streamed(model, "--stop", never), text)
    print(f"stopped at {stop!r} after {len(text[:start])} characters")


if __name__ == "__main__":
    main()
