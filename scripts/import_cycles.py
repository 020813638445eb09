#!/usr/bin/env python3
"""Import circles inside each crate of the workspace, from `crate::` and `super::`
paths in the source (tests left out).

A circle of files inside one folder is tolerated (two halves of one concept); a circle
that spans two folders means a module reaches back up into one that imports it, and
makes this script exit 1. Layering between crates needs no check here: Cargo refuses
a dependency cycle between crates, and each crate's manifest names what it may use.

    python3 scripts/import_cycles.py            # every crate under crates/
    python3 scripts/import_cycles.py -v         # also the circles inside one folder
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates")
PATH = re.compile(r"\b(crate|super)::((?:[a-z_0-9]+::)*)(\{[^}]*\}|[A-Za-z_0-9]+)")


def modules(src):
    """Module path (tuple) -> file, for every non-test source file of a crate."""
    found = {}
    for folder, _, names in os.walk(src):
        for name in names:
            if not name.endswith(".rs") or "test" in name:
                continue
            rel = os.path.relpath(os.path.join(folder, name), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            found[tuple(parts)] = rel
    return found


def resolve(found, parts):
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in found:
            return found[tuple(parts[:n])]
    return None


def imports(src, found):
    graph = {rel: set() for rel in found.values()}
    for module, rel in found.items():
        text = open(os.path.join(src, rel), encoding="utf-8").read()
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)[0]
        text = re.sub(r"//.*", "", text)
        here = list(module)
        for anchor, middle, last in PATH.findall(text):
            segments = [s for s in middle.split("::") if s]
            tails = [t.strip().split("::")[0] for t in last.strip("{}").split(",")]
            # `super` is the parent of this module, whether it is a.rs or a/mod.rs.
            base = [] if anchor == "crate" else here[:-1]
            for tail in tails or [""]:
                target = resolve(found, base + segments + ([tail] if tail else []))
                if target and target != rel:
                    graph[rel].add(target)
    return graph


def circles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def main():
    verbose = "-v" in sys.argv[1:]
    failed = False
    for crate in sorted(os.listdir(ROOT)):
        src = os.path.join(ROOT, crate, "src")
        if not os.path.isdir(src):
            continue
        found = modules(src)
        graph = imports(src, found)
        for component in circles(graph):
            folders = sorted({os.path.dirname(f) or "." for f in component})
            spans = len(folders) > 1
            failed |= spans
            if spans or verbose:
                kind = "SPANS FOLDERS" if spans else "inside one folder"
                print(f"crates/{crate}: circle of {len(component)} files, {kind}: {', '.join(folders)}")
                for a in component:
                    for b in sorted(graph[a] & set(component)):
                        print(f"    {a} -> {b}")
    if failed:
        print("error: an import circle spans two folders (see above)", file=sys.stderr)
        sys.exit(1)
    print("no import circle spans two folders")


if __name__ == "__main__":
    main()
