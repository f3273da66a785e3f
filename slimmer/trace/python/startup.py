"""What the interpreter imports before the first line of the program runs.

CPython's start-up (Python/pylifecycle.c, init_interp_main): the import system installs its
`zipimport` path hook, the codec registry imports
`encodings` (which imports `codecs` and `encodings.aliases`), then the codecs of the file
system and standard stream encodings: UTF-8 in a container, whose C or POSIX locale Python
coerces to UTF-8 (PEP 538/540), else the locale's codeset; then `site` unless `-S`. `site`
itself imports `sitecustomize` and `usercustomize` when they exist and runs the `import` lines
of `.pth` files (syspath.py): the import graph of site.py finds those. `-m` runs `runpy`.
"""

from __future__ import annotations

import re

from slimmer.trace.python.finder import ModuleFinder
from slimmer.trace.python.invocation import Invocation

_ALIAS = re.compile(r"""^\s*'([\w.]+)'\s*:\s*'(\w+)'""", re.M)
LOCALE_VARIABLES = ("LC_ALL", "LC_CTYPE", "LANG")


def startup_modules(finder: ModuleFinder, invocation: Invocation, env: dict[str, str]) -> list[tuple[str, str]]:
    """(module, why) the interpreter imports at start-up, in order."""
    found = [("zipimport", "path hook of the import system for zip archives on sys.path"),
             ("encodings", "codec registry"), ("encodings.utf_8", "file system and stream encoding (UTF-8)")]
    codec = _locale_codec(finder, env)
    if codec is not None and codec != "utf_8":
        found.append((f"encodings.{codec}", "encoding of the locale the environment selects"))
    if not invocation.no_site:
        found.append(("site", "sys.path set-up (site)"))
        found.append(("sitecustomize", "site's customisation hook, when present"))
        if not invocation.no_user_site:
            found.append(("usercustomize", "site's per-user customisation hook, when present"))
    if invocation.module is not None:
        found.append(("runpy", "runs the module given with -m"))
    return found


def _locale_codec(finder: ModuleFinder, env: dict[str, str]) -> str | None:
    """The codec module of the locale's codeset (`en_US.ISO-8859-1` -> latin_1)."""
    name = next((env[v] for v in LOCALE_VARIABLES if env.get(v)), "")
    codeset = name.partition(".")[2].partition("@")[0]
    if not codeset:
        return None
    normalised = re.sub(r"[^a-z0-9]+", "_", codeset.lower()).strip("_")
    if finder.find(f"encodings.{normalised}") is not None:
        return normalised
    aliases = finder.find("encodings.aliases")
    if aliases is None or aliases.origin is None:
        return None
    entry = finder.fs.lookup(aliases.origin)
    if entry is None or not entry.is_file:
        return None
    table = dict(_ALIAS.findall(finder.fs.read(entry).decode("utf-8", "replace")))
    return table.get(normalised)
