#!/usr/bin/python3
"""graph.py [ROOT] -- the call graph between the library's files, and where it breaks the layering.

An arrow A -> B means a function in A calls a function that B defines (not static), found
by reading the C and CUDA sources under ROOT/lib and ROOT/kernels (default ROOT: .); calls
through the backend's table of function pointers are not arrows. Prints the arrows, then
two figures:
  circles   groups of two or more files that reach one another (strongly connected
            components): each is a knot that cannot be read or tested in isolation
  up        arrows from a lower floor to a higher one, in the order of ../shared/DESIGN.md:
            model -> kinds -> (a batch's workspace) -> small nets -> arena and parameter
            registry -> backend, with io and the common
            helpers (errors, the CPU/CUDA twins' shared headers) beside the floors
Files not in the floor table are listed as such and count in circles only.
"""
import os
import re
import sys

# floor of each file stem (higher numbers call lower ones); None: a service any floor may use
FLOORS = {
    "model": 5, "modelfile": 5, "train": 5, "sample": 5, "eval": 5, "names": 5, "compress": 5,
    "device": 5,  # opens and closes backend instances: called by programs, calls the backends
    "kind": 4, "pixelcnn": 4, "autoenc": 4, "embed": 4,
    "workspace": 3.5,  # a batch's activations: under the kinds, over the small nets it sizes
    "cond": 3, "convnet": 3,
    "arena": 2, "params": 2,
    "dist": 1.5,  # a data-parallel job's collectives (MPI): the trainer and kinds call it
    "backend": 1,  # lib/cpu/*.c and kernels/*.cu are all floor 1 (see floor())
    "errors": None, "status": None, "fail": None, "rans": None,
}

DEF = re.compile(r"^(?!static\b)(?:[A-Za-z_][\w\s\*]*?[\s\*])(\w+)\s*\(([^;{]*)$")
CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "defined", "do", "else"}


def strip(text):
    """C text without comments, string and character literals"""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    return re.sub(r"'(?:\\.|[^'\\\n])*'", "''", text)


def sources(root):
    for top in ("lib", "kernels"):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith((".c", ".cu")):
                    yield os.path.relpath(os.path.join(d, f), root)


def floor(path):
    parts = path.split("/")
    if parts[0] == "kernels" or parts[1] == "cpu":
        return 1
    if parts[1] == "io":
        return None
    return FLOORS.get(os.path.splitext(parts[-1])[0], "unknown")


def main(root):
    text = {p: strip(open(os.path.join(root, p), errors="replace").read()) for p in sources(root)}
    defined = {}  # function -> file
    for p, t in text.items():
        lines = t.split("\n")
        for i, line in enumerate(lines):
            m = DEF.match(line)
            if not m or m.group(1) in KEYWORDS or line.startswith(("#", " ", "\t", "}")):
                continue
            rest = "\n".join(lines[i:i + 12])
            if re.match(r"[^;]*\)\s*\{", rest, flags=re.S):
                defined.setdefault(m.group(1), p)
    edges = set()
    for p, t in text.items():
        for name in CALL.findall(t):
            q = defined.get(name)
            if q and q != p:
                edges.add((p, q))
    for a, b in sorted(edges):
        print(f"{a} -> {b}")

    # Tarjan's strongly connected components
    graph = {p: sorted(b for a, b in edges if a == p) for p in text}
    index, low, stack, on, comps, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    up = [(a, b) for a, b in sorted(edges)
          if isinstance(floor(a), (int, float)) and isinstance(floor(b), (int, float)) and floor(b) > floor(a)]
    unknown = sorted(p for p in text if floor(p) == "unknown")
    print(f"\ncircles: {len(comps)}")
    for c in comps:
        print("  " + " <-> ".join(c))
    print(f"up: {len(up)}")
    for a, b in up:
        print(f"  {a} (floor {floor(a)}) -> {b} (floor {floor(b)})")
    if unknown:
        print("not in the floor table: " + " ".join(unknown))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
