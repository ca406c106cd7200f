#!/usr/bin/env python3
"""Fails when a source file exports a symbol that does not carry its name.

The module name is the prefix (CONTRIBUTING.md, "Names"): every function and
variable x.c exports is x, x_something or x__something. Besides:
- a file named mod_part.c is a part of module mod and may export mod's
  shared-but-internal symbols, mod__something (worker_batch.c: worker__batch_run);
- a stage's vendor and plugin files (<stage>-worker/providers/openai.c,
  <stage>-worker/plugin/espeak.c) carry the stage too, <stage>_<file>, since
  two stages may have a vendor of one name (parse_openai, tts_openai);
- a stage's providers/registry.c implements the lookups of <stage>_provider.h
  and may use that prefix (parse_provider_find).
The exported symbols are read from the objects of a build with `nm` (what the
linker sees, not what a header claims), for the project's own sources: common/, the daemons, their
providers and plugins, deploy/; the tests and generated files are not checked.
Usage: prefix_check.py [BUILD]  (default: build/san, relative to the repository).
"""
import os
import subprocess
import sys

# Exceptions: file -> the symbols or (ending in '_') the prefixes it may export besides.
EXCEPTIONS = {
    # Allocate-or-abort, named as CONTRIBUTING.md and git's wrapper.c name them.
    'common/util.c': {'xmalloc', 'xcalloc', 'xrealloc', 'xstrdup', 'xstrndup', 'xasprintf'},
    # The exchange half of http_server.h's API (http_header, http_problem...):
    # one prefix for the server's users, whichever file answers.
    'common/http_reply.c': {'http_'},
    # Interposes libc's socket calls for the mock cluster: the names are libc's.
    'deploy/devbroker/devbroker.c': {'accept', 'accept4', 'bind'},
}
# A program's entry point.
ALWAYS = {'main'}
SKIP_TOP = {'tests', 'gen', 'hdr', 'llhttp', 'fuzz'}
DEFINED = set('TDBRGSVW')  # text, data, bss, read-only, small data, weak


def objects(build):
    """(object path, source path) for every object compiled from the project's sources."""
    for folder, dirs, files in os.walk(build):
        rel = os.path.relpath(folder, build)
        parts = [] if rel == '.' else rel.split(os.sep)
        if parts and parts[0] == 'pic':
            parts = parts[1:]
        if parts and parts[0] in SKIP_TOP:
            dirs[:] = []
            continue
        for f in files:
            if f.endswith('.o'):
                yield os.path.join(folder, f), os.path.join(*parts, f[:-2] + '.c')


def exported(obj):
    out = subprocess.run(['nm', '-g', '--defined-only', obj], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in DEFINED and not fields[2].startswith(('__', '.')):
            yield fields[2]


def prefixes(src):
    """The prefixes src's exports may start with (each followed by '_' or nothing)."""
    folder, name = os.path.split(src)
    stem = os.path.splitext(name)[0]
    allowed = {stem}
    parts = folder.split('/')
    if len(parts) == 2 and parts[0].endswith('-worker') and parts[1] in ('providers', 'plugin'):
        stage = parts[0][:-len('-worker')]
        allowed.add(f'{stage}_{stem}')
        if stem == 'registry':
            allowed.add(f'{stage}_provider')
    return allowed


def fits(sym, src):
    stem = os.path.splitext(os.path.basename(src))[0]
    if sym in ALWAYS or any(sym == p or sym.startswith(p + '_') for p in prefixes(src)):
        return True
    mod = sym.split('__', 1)[0]
    if '__' in sym and stem.startswith(mod + '_'):
        return True
    extra = EXCEPTIONS.get(src, set())
    return sym in extra or any(e.endswith('_') and sym.startswith(e) for e in extra)


def wrong(src, symbols):
    return sorted(s for s in symbols if not fits(s, src))


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build = os.path.join(root, sys.argv[1] if len(sys.argv) > 1 else 'build/san')
    if not os.path.isdir(build):
        sys.exit(f'prefix_check: no build at {build}')
    bad, checked = 0, set()
    for obj, src in sorted(objects(build)):
        if src in checked or not os.path.isfile(os.path.join(root, src)):
            continue
        checked.add(src)
        for sym in wrong(src, exported(obj)):
            print(f'{src}: exports {sym}, not prefixed {" or ".join(sorted(prefixes(src)))}')
            bad += 1
    print(f'prefix_check: {len(checked)} files, {bad} exports without their file\'s prefix')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
