"""glibc's charset conversion database: which module files `iconv_open` loads for which names.

Modelled on glibc's iconv/ (2.36): charset names are normalised as iconv_open does
(gconv_charset.c: suffixes such as //TRANSLIT dropped, characters other than letters, digits
and `_-.,:` removed, upper case, padded to two slashes); the configuration is every
`gconv-modules` file and `gconv-modules.d/*.conf` of each gconv directory, `alias` and
`module` lines, plus the conversions built into libc (gconv_builtin.h). When the image has
`gconv-modules.cache` and no GCONV_PATH, glibc reads only that cache (iconvconfig.c,
gconv_cache.c): a name maps to one charset, converted through INTERNAL by that charset's two
modules, or by a direct module to another charset. Otherwise glibc searches the module graph for
the cheapest chain (gconv_db.c); the chains of every pair of names are followed then.
"""

from __future__ import annotations

import heapq
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from slimmer.trace.named.model import Catalog, ImageView

INTERNAL = "INTERNAL"
CONFIG_FILE = "gconv-modules"
CONFIG_DIR = "gconv-modules.d"
CACHE_FILE = "gconv-modules.cache"

# gconv_builtin.h for a little-endian machine: aliases, then the builtin transformations
BUILTIN_ALIASES: tuple[tuple[str, str], ...] = tuple(
    (alias, target) for target, aliases in (
        ("ISO-10646/UCS4/", ("UCS4//", "UCS-4//", "UCS-4BE//", "CSUCS4//", "ISO-10646//", "10646-1:1993//",
                             "10646-1:1993/UCS4/", "OSF00010104//", "OSF00010105//", "OSF00010106//")),
        (INTERNAL, ("WCHAR_T//",)),
        ("ISO-10646/UTF8/", ("UTF8//", "UTF-8//", "ISO-IR-193//", "OSF05010001//", "ISO-10646/UTF-8/")),
        ("ISO-10646/UCS2/", ("UCS2//", "UCS-2//", "OSF00010100//", "OSF00010101//", "OSF00010102//",
                             "UNICODELITTLE//", "UCS-2LE//")),
        ("ANSI_X3.4-1968//", ("ANSI_X3.4//", "ISO-IR-6//", "ANSI_X3.4-1986//", "ISO_646.IRV:1991//", "ASCII//",
                              "ISO646-US//", "US-ASCII//", "US//", "IBM367//", "CP367//", "CSASCII//",
                              "OSF00010020//")),
        ("UNICODEBIG//", ("UCS-2BE//",)),
    ) for alias in aliases)
BUILTIN_CHARSETS = ("ISO-10646/UCS4/", "UCS-4LE//", "ISO-10646/UTF8/", "ISO-10646/UCS2/", "ANSI_X3.4-1968//",
                    "UNICODEBIG//")


@dataclass(frozen=True)
class Module:
    """One conversion step: a `module` line (file is the path of the .so), or a builtin (file None)."""

    source: str
    target: str
    file: str | None
    cost: int = 1


BUILTIN_MODULES = tuple(m for c in BUILTIN_CHARSETS for m in (Module(INTERNAL, c, None), Module(c, INTERNAL, None)))


def normalise(code: str) -> str:
    """A charset argument of iconv_open as glibc compares it ("utf-8//TRANSLIT" -> "UTF-8//")."""
    while True:
        code = code.rstrip(" \t\n\r\f\v,/")
        if code.count("/") < 2:
            break
        code = code[:max(code.rfind("/"), code.rfind(","))]
    out: list[str] = []
    slashes = 0
    for c in code:
        if c.isascii() and (c.isalnum() or c in "_-.,:"):
            out.append(c.upper())
        elif c == "/":
            slashes += 1
            if slashes == 3:
                break
            out.append("/")
    return "".join(out) + "/" * max(0, 2 - slashes)


_LITERAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:,()+-]*(?:/[A-Za-z0-9_.:,()+/-]*)?")


def plausible_literal(text: str) -> bool:
    """Whether a string of a program reads as a charset it names, not as another short word.

    Two-character aliases (L1, DE), bare numbers (437, 850) and capitalised words (Dec, Greek)
    are aliases too, but they are common strings of every other kind: taken as names they
    keep modules that nothing loads. A program naming a charset almost always also (or only)
    uses a longer spelling of it. Strings with spaces or other characters a charset name is
    not written with are not names either (iconv_open would drop those characters).
    """
    if not _LITERAL.fullmatch(text):
        return False
    name = text.split("/", 1)[0]
    return len(name) >= 3 and not name.isdigit() and not re.fullmatch(r"[A-Z][a-z]+", name)


@dataclass
class GconvConfig:
    """The `alias` and `module` lines of the configuration files, in the order glibc reads them."""

    aliases: list[tuple[str, str]] = field(default_factory=list)
    modules: list[Module] = field(default_factory=list)
    lines: list[tuple[str, str, str]] = field(default_factory=list)  # ("alias"|"module", from, to) in order

    def add_text(self, text: str, directory: str) -> None:
        for raw in text.splitlines():
            fields = raw.split("#", 1)[0].split()
            if len(fields) >= 3 and fields[0] == "alias":
                self.aliases.append((fields[1].upper(), fields[2].upper()))
                self.lines.append(("alias", fields[1].upper(), fields[2].upper()))
            elif len(fields) >= 4 and fields[0] == "module":
                file = fields[3] if fields[3].endswith(".so") else fields[3] + ".so"
                cost = int(fields[4]) if len(fields) > 4 and fields[4].isdigit() and int(fields[4]) >= 1 else 1
                module = Module(fields[1].upper(), fields[2].upper(), posixpath.join(directory, file), cost)
                self.modules.append(module)
                self.lines.append(("module", module.source, module.target))


class GconvDatabase:
    """The conversions of one image as glibc would load them (cached: glibc reads the cache)."""

    def __init__(self, config: GconvConfig, cached: bool) -> None:
        self.cached = cached
        if cached:
            self._build_cache(config)
        else:
            self._build_text(config)

    # -- what a set of names needs --

    def known(self, code: str) -> bool:
        """Whether iconv_open knows the (normalised) name."""
        if self.cached:
            return code in self._index
        return code in self._aliases or code in self._graph

    def files(self, codes: Iterable[str]) -> dict[str, list[str]]:
        """Module file -> the names that need it, for conversions between any of `codes`
        (normalised) in either direction."""
        codes = [c for c in dict.fromkeys(codes) if self.known(c)]
        needed: dict[str, list[str]] = {}
        for code, modules in (self._cache_steps(codes) if self.cached else self._text_steps(codes)):
            for m in modules:
                if m.file is not None:
                    needed.setdefault(m.file, [])
                    if code not in needed[m.file]:
                        needed[m.file].append(code)
        return needed

    # -- glibc with gconv-modules.cache (what iconvconfig writes, what gconv_cache.c reads) --

    def _build_cache(self, config: GconvConfig) -> None:
        modules: dict[tuple[str, str], Module] = {}
        for m in config.modules + list(BUILTIN_MODULES):
            modules.setdefault((m.source, m.target), m)  # iconvconfig's tsearch: the first one stays
        aliases: dict[str, str] = {}
        for a, t in config.aliases + list(BUILTIN_ALIASES):
            aliases.setdefault(a, t)
        self._index: dict[str, str] = {INTERNAL: INTERNAL}  # name -> canonical charset
        self._to_internal: dict[str, Module] = {}
        self._from_internal: dict[str, Module] = {}
        self._direct: dict[str, list[Module]] = {}
        for m in modules.values():
            if m.source == INTERNAL:
                self._from_internal[m.target] = m
            elif m.target == INTERNAL:
                self._to_internal[m.source] = m
            else:
                self._direct.setdefault(m.source, []).append(m)
            for name in (m.source, m.target):
                self._index.setdefault(name, name)
        # aliases in name order, each of a name known by then (so an alias of an earlier alias works)
        for alias in sorted(aliases):
            target = aliases[alias]
            if target in self._index and alias not in self._index:
                self._index[alias] = self._index[target]

    def _cache_steps(self, codes: list[str]) -> list[tuple[str, list[Module]]]:
        canonical = {self._index[c] for c in codes}
        steps: list[tuple[str, list[Module]]] = []
        for code in codes:
            name = self._index[code]
            found = [m for m in (self._to_internal.get(name), self._from_internal.get(name)) if m is not None]
            found += [m for m in self._direct.get(name, ()) if m.target in canonical]
            steps.append((code, found))
        return steps

    # -- glibc reading the text files (GCONV_PATH set, or no cache) --

    def _build_text(self, config: GconvConfig) -> None:
        modules: dict[tuple[str, str], Module] = {}
        self._aliases: dict[str, str] = {}
        froms: set[str] = set()
        module_lines = iter(config.modules)
        for kind, source, target in config.lines:
            if kind == "alias":
                if source not in froms:  # detect_conflict: an alias never hides a module
                    self._aliases.setdefault(source, target)
                continue
            m = next(module_lines)
            if source in self._aliases:
                continue  # the module duplicates an alias
            old = modules.get((source, target))
            if old is None or m.cost < old.cost:
                modules[(source, target)] = m
            froms.add(source)
        for m in BUILTIN_MODULES:
            if m.source not in self._aliases:
                modules.setdefault((m.source, m.target), m)
                froms.add(m.source)
        for a, t in BUILTIN_ALIASES:
            if a not in froms:
                self._aliases.setdefault(a, t)
        self._graph: dict[str, list[Module]] = {}
        for m in modules.values():
            self._graph.setdefault(m.source, []).append(m)
            self._graph.setdefault(m.target, [])

    def _text_steps(self, codes: list[str]) -> list[tuple[str, list[Module]]]:
        steps: list[tuple[str, list[Module]]] = []
        ends = {code: {code, self._aliases.get(code, code)} for code in codes}
        for code in codes:
            starts = ends[code]
            steps.append((code, self._cheapest(starts, {INTERNAL}) + self._cheapest({INTERNAL}, starts)))
            for other in codes:
                if other != code:
                    steps.append((code, self._cheapest(starts, ends[other])))
        return steps

    def _cheapest(self, starts: set[str], goals: set[str]) -> list[Module]:
        """Every module on a cheapest chain (at least one step) from a start to a goal."""
        best: dict[str, int] = {}
        parents: dict[str, list[Module]] = {}
        queue = [(m.cost, m.target, i, m) for i, m in
                 enumerate(m for s in starts for m in self._graph.get(s, ()))]
        heapq.heapify(queue)
        counter = len(queue)
        while queue:
            cost, node, _, module = heapq.heappop(queue)
            known = best.get(node)
            if known is not None and cost > known:
                continue
            parents.setdefault(node, []).append(module)
            if known is not None:
                continue
            best[node] = cost
            if node in goals:
                continue
            for m in self._graph.get(node, ()):
                counter += 1
                heapq.heappush(queue, (cost + m.cost, m.target, counter, m))
        reached = [g for g in goals if g in best]
        if not reached:
            return []
        cheapest = min(best[g] for g in reached)
        found: list[Module] = []
        todo = [g for g in reached if best[g] == cheapest]
        seen: set[str] = set()
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for m in parents.get(node, ()):
                found.append(m)
                if m.source not in starts:
                    todo.append(m.source)
        return found


# where glibc's GCONV_DIR is on Debian (multiarch) and elsewhere
DEFAULT_DIRS = ("/usr/lib/*-linux-gnu*/gconv", "/usr/lib64/gconv", "/usr/lib/gconv")
# libraries that convert charsets their callers name: their own strings are tables, not names.
# libxml2, libxslt and GLib convert a document's declared encoding too, but decode UTF-8, UTF-16,
# Latin-1 and ASCII themselves: keeping every module for the rare other one is cut (8 MB).
PASSING = ("libunistring.so.*", "libidn2.so.*", "libidn.so.*", "libxml2.so.*", "libxslt.so.*", "libglib-2.0.so.*")
# what such libraries offer: an object importing one names the charsets it passes
PASSING_FUNCTIONS = frozenset(
    [f"{u}_{kind}_{way}_encoding" for u in ("u8", "u16", "u32") for kind in ("conv", "strconv")
     for way in ("from", "to")] + ["mem_iconveh", "str_iconveh", "mem_cd_iconveh", "str_cd_iconveh", "str_iconv"])
# importers whose charsets come from their input (documents, command lines, mail headers)
ANY_CHARSET = ("iconv", "libphp*.so", "php*", "libarchive.so.*", "libmagic.so.*", "libgmime-*.so.*", "libenca.so.*")


class Gconv(Catalog):
    """The gconv modules of one image, looked up as its glibc would."""

    def __init__(self, view: ImageView) -> None:
        self.view = view
        default = [d for pattern in DEFAULT_DIRS for d in view.fs.glob(pattern) if view.is_dir(d)][:1]
        user = [d for d in view.env.get("GCONV_PATH", "").split(":") if d.startswith("/")]
        self.cache = posixpath.join(default[0], CACHE_FILE) if default and not user else None
        self.cached = self.cache is not None and view.exists(self.cache)
        self.dirs = list(dict.fromkeys(user + default))
        self.configs: list[str] = []
        config = GconvConfig()
        for d in self.dirs if not self.cached else default:
            for path in [posixpath.join(d, CONFIG_FILE)] + view.fs.glob(posixpath.join(d, CONFIG_DIR, "*.conf")):
                text = view.read_text(path)
                if text is not None:
                    self.configs.append(path)
                    config.add_text(text, d)
        self.modules = config.modules
        self.db = GconvDatabase(config, self.cached)

    def directories(self) -> list[str]:
        return self.dirs

    def name(self, word: str) -> str | None:
        code = normalise(word)
        if self.db.known(code):
            return code
        if "." in word and "/" not in word:  # a locale name: its codeset
            code = normalise(word.split(".", 1)[1].split("@", 1)[0])
            return code if self.db.known(code) else None
        return None

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        return [(path, codes[0], f"converts {', '.join(c.rstrip('/') for c in codes)}")
                for path, codes in self.db.files(names).items()]

    def always(self) -> list[tuple[str, str]]:
        if self.cached and self.cache is not None:
            return [(self.cache, "the module table glibc reads (no GCONV_PATH)")]
        return [(c, "configuration glibc reads (GCONV_PATH set, or no cache)") for c in self.configs]

    def everything(self) -> list[str]:
        return [p for p, _ in self.always()] + list(dict.fromkeys(m.file for m in self.modules if m.file))
