#!/usr/bin/env python3
"""The Wine modules a set of modules needs, following IMPORTS.

    import-closure.py SOURCE_TREE MODULE...

MODULE is a directory relative to the tree (dlls/kernel32, programs/wineboot,
dlls/kernel32/tests) or a bare dll or program name (setupapi, winebus.sys).
Prints the directories of the modules and of everything their Makefile.in
IMPORTS name, followed to the end, sorted, one per line. DELAYIMPORTS are
not followed: a delay-loaded module is built only when something names it.
"""
import os
import re
import sys


def module_dir(src, name):
    if "/" in name:
        return name if os.path.isfile(os.path.join(src, name, "Makefile.in")) else None
    for base in ("dlls", "programs"):
        if os.path.isfile(os.path.join(src, base, name, "Makefile.in")):
            return f"{base}/{name}"
    return None


def imports(src, directory):
    with open(os.path.join(src, directory, "Makefile.in")) as f:
        text = f.read().replace("\\\n", " ")
    names = []
    for m in re.finditer(r"^IMPORTS\s*=(.*)$", text, re.M):
        names += [w for w in m.group(1).split() if not w.startswith("$")]
    return names


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    src, queue, seen = argv[1], list(argv[2:]), set()
    while queue:
        name = queue.pop()
        directory = module_dir(src, name)
        if directory is None:
            # import libraries with no module of their own (uuid, dxguid, ...)
            continue
        if directory in seen:
            continue
        seen.add(directory)
        queue += imports(src, directory)
    print("\n".join(sorted(seen)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
