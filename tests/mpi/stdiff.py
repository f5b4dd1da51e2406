#!/usr/bin/python3
"""stdiff.py A B [TOL] -- how far apart two model files (.safetensors) are.

Reads both files with the standard library only (an 8-byte little-endian header length,
the JSON header, then the F32 tensors) and prints one line: the largest absolute
difference over every tensor, weights and optimizer state alike, as |a - b| / (1 + |b|),
and the tensor where it is. Exit 0 when the files have the same tensors, shapes and
training metadata (train.*) and that difference is at most TOL (default 0: equal), 1 when
it is larger, 2 when the files do not hold the same things.
"""
import array
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            sys.exit(f"stdiff: {path}: {name} is {t['dtype']}, not F32")
        lo, hi = t["data_offsets"]
        a = array.array("f")
        a.frombytes(data[base + lo:base + hi])
        if sys.byteorder != "little":
            a.byteswap()
        tensors[name] = (tuple(t["shape"]), a)
    return meta, tensors


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit("usage: stdiff.py A B [TOL]")
    tol = float(argv[3]) if len(argv) == 4 else 0.0
    (ma, ta), (mb, tb) = read(argv[1]), read(argv[2])
    if sorted(ta) != sorted(tb):
        print(f"stdiff: the files hold different tensors: {sorted(set(ta) ^ set(tb))[:5]}")
        return 2
    ka = {k: v for k, v in ma.items() if k.startswith("train.") and not k.startswith("train.best")}
    kb = {k: v for k, v in mb.items() if k.startswith("train.") and not k.startswith("train.best")}
    if ka != kb:
        print(f"stdiff: the training metadata differ: {sorted(set(ka.items()) ^ set(kb.items()))[:4]}")
        return 2
    worst, where, count = 0.0, "", 0
    for name in sorted(ta):
        (sa, a), (sb, b) = ta[name], tb[name]
        if sa != sb:
            print(f"stdiff: {name}: shape {sa} against {sb}")
            return 2
        for x, y in zip(a, b):
            d = abs(x - y) / (1 + abs(y)) if x == x and y == y else float("inf")
            if d > worst:
                worst, where = d, name
        count += len(a)
    print(f"stdiff: {count} values, largest difference {worst:.3g}{' in ' + where if where else ''}")
    return 0 if worst <= tol else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
