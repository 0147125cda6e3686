"""Checks <build>/docs/Ember against the definitions in the .td files.
Usage: _ods_reference.py SOURCE_ROOT DOCS_DIR"""

import glob
import os
import re
import sys


def definitions(source, pattern):
    names = []
    for path in sorted(glob.glob(os.path.join(source, "**", "*.td"), recursive=True)):
        if "/build" in path:
            continue
        names += re.findall(pattern, open(path).read())
    return names


def main():
    source, docs = sys.argv[1:]
    text = {name: open(os.path.join(docs, name)).read() for name in os.listdir(docs)}
    everything = "\n".join(text.values())
    ops = definitions(source, r'def \w+ : Ember_Op<"(\w+)"')
    attrs = definitions(source, r'AttrDef<Ember_Dialect, "(\w+)"')
    interfaces = definitions(source, r'def \w+ : OpInterface<"(\w+)"')
    passes = definitions(source, r'def \w+ : Pass<"([\w-]+)"')
    missing = [f"op ember.{op}" for op in ops if f"### `ember.{op}`" not in everything]
    missing += [f"attribute {a}" for a in attrs if f"### {a}Attr" not in everything]
    missing += [f"interface {i}" for i in interfaces if f"## {i}" not in everything]
    missing += [f"pass {p}" for p in passes if f"### `-{p}`" not in everything]
    if missing:
        sys.exit("not in " + docs + ": " + ", ".join(missing))
    print(f"{len(ops)} ops, {len(attrs)} attributes, {len(interfaces)} interfaces and {len(passes)} passes documented")


if __name__ == "__main__":
    main()
