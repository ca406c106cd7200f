#!/usr/bin/env python3
"""Fails when two modules include each other.

A module is a .c file and the .h of the same name beside it (x.c + x.h), plus
its private header x_int.h when it has one; a .c file without a header of its
own that includes x_int.h is one more file of module x (http_reply.c). Module
A depends on module B when A.c or A.h includes "B.h" (quoted includes, resolved
in the including file's folder first, then in common/). Two modules that depend
on each other form a cycle: neither can be understood, tested or replaced
without the other, so one of them should move its shared part below both.
Usage: include_cycles.py [ROOT]  (default: the repository holding this file).
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SKIP = {'build', '.git', 'node_modules'}


def sources(root):
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP]
        for f in files:
            if f.endswith(('.c', '.h')):
                yield os.path.relpath(os.path.join(folder, f), root)


def module(path):
    stem = os.path.splitext(path)[0]
    return stem[:-4] if stem.endswith('_int') else stem


def owner(root, path):
    """The module a file belongs to: its own, or that of the one x_int.h it includes."""
    stem = os.path.splitext(path)[0]
    if path.endswith('.h') or os.path.isfile(os.path.join(root, stem + '.h')):
        return module(path)
    with open(os.path.join(root, path), encoding='utf-8', errors='replace') as f:
        private = [n for n in INCLUDE.findall(f.read()) if n.endswith('_int.h')]
    if len(private) == 1:
        target = resolve(root, path, private[0])
        if target:
            return module(target)
    return module(path)


def resolve(root, src, name):
    for folder in (os.path.dirname(src), 'common'):
        cand = os.path.normpath(os.path.join(folder, name))
        if os.path.isfile(os.path.join(root, cand)):
            return cand
    return None


def edges(root):
    deps = {}
    for src in sources(root):
        with open(os.path.join(root, src), encoding='utf-8', errors='replace') as f:
            text = f.read()
        for name in INCLUDE.findall(text):
            target = resolve(root, src, name)
            mod = owner(root, src)
            if target and module(target) != mod:
                deps.setdefault(mod, {}).setdefault(module(target), src)
    return deps


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
    root = os.path.abspath(root)
    deps = edges(root)
    cycles = []
    for a, targets in sorted(deps.items()):
        for b, via in sorted(targets.items()):
            if a < b and a in deps.get(b, {}):
                cycles.append(f'{a} <-> {b}: {via} includes {b}.h, {deps[b][a]} includes {a}.h')
    for c in cycles:
        print(f'include cycle: {c}', file=sys.stderr)
    if cycles:
        return 1
    print(f'include cycles: none among {len(deps)} modules')
    return 0


if __name__ == '__main__':
    sys.exit(main())
