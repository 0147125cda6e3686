#!/usr/bin/env python3
"""Reads and writes the seal ember-compile appends to an artifact, written
from its description (SharedLibrary.h), not from ember's code: 24 bytes,
b"EMBERSUM", the FNV-1a 64 of every byte before them, and their count,
both little endian.

  _seal.py check ARTIFACT            prints "sealed: N bytes, fnv1a64 H"; exit 1 unless it matches
  _seal.py flip ARTIFACT OUT         OUT = ARTIFACT with one byte in the middle flipped (seal kept)
  _seal.py reseal-abi ARTIFACT OUT   OUT = ARTIFACT with its stamp's "ember ABI <N>," made
                                     "ember ABI 0,", sealed again
"""

import re
import struct
import sys

MAGIC = b"EMBERSUM"


def fnv1a64(data):
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def unseal(data):
    if len(data) < 24 or data[-24:-16] != MAGIC:
        sys.exit("not sealed")
    value, count = struct.unpack("<QQ", data[-16:])
    return data[:-24], value, count


def seal(body):
    return body + MAGIC + struct.pack("<QQ", fnv1a64(body), len(body))


def main():
    command, path = sys.argv[1], sys.argv[2]
    data = open(path, "rb").read()
    body, value, count = unseal(data)
    if command == "check":
        print(f"sealed: {count} bytes, fnv1a64 {value:016x}")
        sys.exit(0 if count == len(body) and value == fnv1a64(body) else 1)
    if command == "flip":
        middle = len(body) // 2
        out = body[:middle] + bytes([body[middle] ^ 0x40]) + body[middle + 1:] + data[-24:]
    elif command == "reseal-abi":
        stamps = re.findall(rb"ember ABI [1-9][0-9]*,", body)
        if len(stamps) != 1:
            sys.exit("no single 'ember ABI <N>,' stamp")
        out = seal(body.replace(stamps[0], b"ember ABI 0,"))
    else:
        sys.exit(f"unknown command {command}")
    open(sys.argv[3], "wb").write(out)


if __name__ == "__main__":
    main()
