#!/usr/bin/env python3
"""Lists import cycles between the modules of a Rust crate.

Usage: scripts/module-cycles.py server/src app/src

Each file is a module (`a/b.rs` and `a/b/mod.rs` are `a::b`). An edge runs from a module to each
module it names with a `crate::` path (in `use` lines and inline paths), taken at the longest
prefix that is a module; `super::` paths are resolved too. Declaring a child (`mod x;`) adds no
edge, but using a parent's or a child's items does: a parent file and its child that use each
other's items are a cycle like any other. Unit-test modules are left out. It prints every cycle
(strongly connected set of two or more modules) and exits 1 when there is one.
"""
import os
import re
import sys


def modules(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)[:-3].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            found["::".join(rel)] = path
    return found


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def edges(mods):
    graph = {m: set() for m in mods}
    for mod, path in mods.items():
        text = strip_comments(open(path, encoding="utf-8").read())
        # Test modules may use anything of their parent.
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
        paths = re.findall(r"\bcrate((?:::[a-z_][a-z0-9_]*)+)", text)
        parts = mod.split("::") if mod else []
        for sup in re.findall(r"\b((?:super::)+)([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)", text):
            depth = sup[0].count("super::")
            base = parts[: len(parts) - depth]
            paths.append("::" + "::".join(base + sup[1].split("::")))
        # Paths relative to this module: `outbox::Outbox`, `use cache::FiguresCache`.
        for rel in re.findall(r"(?<![:\w])([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)::", text):
            head = rel.split("::")[0]
            if head not in ("crate", "super", "self", "std", "core") and (
                (mod + "::" + head if mod else head) in mods
            ):
                paths.append("::" + "::".join(parts + rel.split("::")))
        # Grouped imports: `use crate::{a, b::c}`.
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            for item in group.split(","):
                item = item.strip().split(" as ")[0]
                if item and item != "self":
                    paths.append("::" + item)
        for found in paths:
            segments = [s for s in found.split("::") if s]
            for cut in range(len(segments), 0, -1):
                target = "::".join(segments[:cut])
                if target in mods:
                    break
            else:
                continue
            if target != mod:
                graph[mod].add(target)
    return graph


def cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for node in graph:
        if node not in index:
            visit(node)
    return out


def main():
    found = False
    for root in sys.argv[1:]:
        mods = modules(root)
        for group in cycles(edges(mods)):
            found = True
            print(f"{root}: cycle: " + " <-> ".join(m or "(crate root)" for m in group))
    if not found:
        print("no import cycles between modules")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
