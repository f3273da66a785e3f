"""Directory lists of RPATH, RUNPATH, LD_LIBRARY_PATH and musl's path file, with the dynamic
string tokens ($ORIGIN, $LIB, $PLATFORM) expanded as each loader does it."""

from __future__ import annotations

import posixpath
import re

from slimmer.trace.elf.arch import Rules

_GLIBC_DST = re.compile(r"\$(?:\{(ORIGIN|LIB|PLATFORM)\}|(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_]))")


def expand_glibc(spec: str, origin: str | None, rules: Rules, cwd: str, seps: str = ":") -> list[tuple[str, str]]:
    """Directories of an RPATH/RUNPATH/LD_LIBRARY_PATH value as glibc's fillin_rpath makes them:
    (directory, note). Elements whose $ORIGIN is unknown are dropped; $PLATFORM, unknown
    statically, yields one directory per possible platform."""
    out: list[tuple[str, str]] = []
    for element in re.split(f"[{re.escape(seps)}]", spec):
        note = ""
        if element == "":
            element, note = cwd, "empty element: the current directory"
        expansions = [element]
        if "$" in element:
            expansions = [""]
            pos = 0
            dropped = False
            for m in _GLIBC_DST.finditer(element):
                token = m.group(1) or m.group(2)
                literal = element[pos:m.start()]
                pos = m.end()
                if token == "ORIGIN":
                    if origin is None:
                        dropped = True
                        break
                    values = [origin]
                elif token == "LIB":
                    values = [rules.dst_lib]
                else:
                    values = list(rules.arch.platforms)
                    note = "$PLATFORM: every value the CPU could give"
                expansions = [e + literal + v for e in expansions for v in values]
            if dropped:
                continue
            expansions = [e + element[pos:] for e in expansions]
        for d in expansions:
            if not d.startswith("/"):
                note = note or "relative directory: resolved against the working directory"
                d = posixpath.join(cwd, d)
            d = d.rstrip("/") or "/"
            out.append((d, note))
    return out


def expand_musl(spec: str, origin: str | None, cwd: str) -> list[str]:
    """musl's fixup_rpath + path_open: only $ORIGIN/${ORIGIN}; any other '$' voids the whole value."""
    if "$" in spec:
        for m in re.finditer(r"\$", spec):
            rest = spec[m.start():]
            if not (rest.startswith(("$ORIGIN", "${ORIGIN}"))):
                return []
        if origin is None:
            return []
        spec = spec.replace("${ORIGIN}", origin).replace("$ORIGIN", origin)
    return [d if d.startswith("/") else posixpath.join(cwd, d) for d in re.split(r"[:\n]", spec) if d]
