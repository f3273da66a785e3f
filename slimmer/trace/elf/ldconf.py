"""/etc/ld.so.conf as ldconfig reads it: one directory per line, `include GLOB` lines.

The loader never reads this file; ldconfig turns it into /etc/ld.so.cache. It matters to the
tracer only when the cache is absent or does not know a name: then the libraries in these
directories are what `ldconfig` (run by an entrypoint, or at the next package install) would
make visible, and keeping them is the conservative choice.
"""

from __future__ import annotations

import posixpath

from slimmer.rootfs.fs import RootFS

LD_SO_CONF = "/etc/ld.so.conf"
MAX_INCLUDE_DEPTH = 20


def read_ldconf(fs: RootFS, path: str = LD_SO_CONF) -> list[str]:
    """Directories listed by ld.so.conf and the files it includes, in order, without duplicates."""
    dirs: list[str] = []
    _parse(fs, path, dirs, set(), 0)
    return list(dict.fromkeys(dirs))


def _parse(fs: RootFS, path: str, out: list[str], visited: set[str], depth: int) -> None:
    resolved = fs.resolve(path)
    entry = resolved.entry
    if entry is None or not entry.is_file or resolved.path in visited or depth > MAX_INCLUDE_DEPTH:
        return
    visited.add(resolved.path)
    text = fs.read(entry).decode("utf-8", "surrogateescape")
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, _, _rest = line.partition(" ")
        if word == "include" or line.startswith("include\t"):
            for pattern in (line[len("include"):].split()):
                # ldconfig: a relative include is relative to the including file's directory
                if not pattern.startswith("/"):
                    pattern = posixpath.join(posixpath.dirname(path), pattern)
                for match in fs.glob(pattern):
                    _parse(fs, match, out, visited, depth + 1)
        elif word == "hwcap":
            continue  # obsolete hwcap lines: ignored by ldconfig since 2.26
        else:
            for item in line.replace(",", " ").replace(":", " ").split():
                item = item.split("=", 1)[0]  # "DIR=TYPE" (old libc5 syntax)
                if item.startswith("/"):
                    out.append(posixpath.normpath(item))
