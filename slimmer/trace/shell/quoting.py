"""Shell quoting: the text a quoted or escaped word stands for, and whether it globs.

Only unquoted `*`, `?` and `[` make a word a pattern, so removing the quoting
and noticing glob characters happen in one pass.
"""

from __future__ import annotations

import re


def has_glob(s: str) -> bool:
    """Whether unquoted text is a pattern the shell expands to file names."""
    return "*" in s or "?" in s or "[" in s


def unescape_unquoted(s: str) -> tuple[str, bool]:
    """Remove shell backslash quoting from a bare word; report unquoted glob chars."""
    if "\\" not in s:
        return s, has_glob(s)
    out = []
    glob = False
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            if s[i + 1] != "\n":
                out.append(s[i + 1])
            i += 2
            continue
        if c in "*?[":
            glob = True
        out.append(c)
        i += 1
    return "".join(out), glob


def unescape_dquoted(s: str) -> str:
    """Text between double quotes: a backslash quotes only \\ " $ ` and newline."""
    if "\\" not in s:
        return s
    return re.sub(r"\\([\\\"$`\n])", lambda m: "" if m.group(1) == "\n" else m.group(1), s)


_ANSI = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
         "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


def unescape_ansi(s: str) -> str:
    """Text of $'...': C-style escapes."""
    return re.sub(r"\\(.)", lambda m: _ANSI.get(m.group(1), "\\" + m.group(1)), s, flags=re.S)
