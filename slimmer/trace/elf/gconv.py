"""The gconv files iconv_open may load: the image's gconv configuration (GCONV_PATH, else
glibc's compiled-in directory) and the modules a policy keeps for the objects importing it."""

from __future__ import annotations

import fnmatch
import posixpath
from typing import TYPE_CHECKING

from slimmer.rootfs.entry import Entry
from slimmer.trace.elf import extras
from slimmer.trace.elf.arch import Rules
from slimmer.trace.elf.reader import ElfInfo
from slimmer.trace.elf.tree import LoadedObject, TreeItem

if TYPE_CHECKING:
    from slimmer.trace.elf.image import ImageLoader


# charsets glibc converts without a module (iconv/gconv_builtin.h): no file needed for them
_BUILTIN_CHARSETS = frozenset({"INTERNAL", "ISO-10646/UCS4", "UCS-4", "UCS-4BE", "UCS-4LE", "ISO-10646/UTF8",
                               "UTF-8", "UTF8", "ISO-10646/UCS2", "UCS-2", "UCS-2BE", "UCS-2LE", "UNICODEBIG",
                               "UNICODELITTLE", "ANSI_X3.4-1968", "ASCII", "US-ASCII", "UTF-16", "UTF-16LE",
                               "UTF-16BE", "UTF-32", "UTF-32LE", "UTF-32BE", "WCHAR_T"})


class GconvFiles:
    """gconv files of one image, read once; `policy` is ElfTracer's gconv option."""

    def __init__(self, image: ImageLoader, policy: str) -> None:
        self.image = image
        self.policy = policy
        self._configs: dict[str, tuple[list[str], extras.GconvConfig]] = {}  # directory -> (files, merged)
        self._charsets: dict[tuple[tuple[int, int], frozenset[str]], list[str]] = {}  # by content, known names

    def items(self, rules: Rules, libc: LoadedObject | None,
              importers: list[tuple[LoadedObject, list[str]]]) -> list[TreeItem]:
        """gconv configuration of the image, and the modules iconv_open may load for these
        importers: policy "all" keeps every module the configuration names; "auto" keeps those
        of the charsets named in the importers' read-only data and of the locale the image's
        Env selects, or every module when an importer takes its charsets from its input
        (extras.GCONV_ANY_CHARSET); "config" only the configuration."""
        first = importers[0][0].path
        items: list[TreeItem] = []
        modules: list[tuple[str, extras.GconvModule]] = []  # (directory, module)
        aliases: dict[str, str] = {}
        for d in self._directories(rules, libc):
            if d not in self._configs:
                self._configs[d] = self._config(d)
            configs, config = self._configs[d]
            for c in configs:
                items.append(TreeItem(c, f"gconv configuration: {first} imports iconv_open", "gconv", first,
                                      optional=True))
            modules += [(d, m) for m in config.modules]
            for k, v in config.aliases.items():
                aliases.setdefault(k, v)
        if self.policy == "config" or not modules:
            return items
        everything, wanted = self._wanted(importers, modules, aliases)
        seen: set[str] = set()
        for d, m in modules:
            path = m.file if m.file.startswith("/") else posixpath.join(d, m.file)
            if path in seen:
                continue
            why = everything or wanted.get(m.source) or wanted.get(m.target)
            if why:
                seen.add(path)
                items.append(TreeItem(path, f"gconv module for {m.source} -> {m.target}: {why} "
                                            f"({first} imports iconv_open)", "gconv", first, optional=True))
        return items

    def _directories(self, rules: Rules, libc: LoadedObject | None) -> list[str]:
        """GCONV_PATH of the image's Env, then the first existing compiled-in candidate."""
        dirs: list[str] = []
        for d in self.image.env.get("GCONV_PATH", "").split(":"):
            if d.startswith("/"):
                dirs.append(d)
        libc_dir = posixpath.dirname(libc.real) if libc is not None else f"/usr/lib/{rules.arch.triplet}"
        for pattern in extras.GCONV_DIR_CANDIDATES:
            d = pattern.format(libc_dir=libc_dir, triplet=rules.arch.triplet)
            real, entry = self.image.resolve(d)
            if entry is not None and entry.is_dir and real not in [self.image.resolve(x)[0] for x in dirs]:
                dirs.append(d)
                break  # glibc has one compiled-in GCONV_DIR
        return dirs

    def _wanted(self, importers: list[tuple[LoadedObject, list[str]]], modules: list[tuple[str, extras.GconvModule]],
                aliases: dict[str, str]) -> tuple[str | None, dict[str, str]]:
        """(why every module is kept, or None; canonical charset -> why it is kept)."""
        wanted: dict[str, str] = {}
        if self.policy == "all":
            return "the configuration names it (gconv='all')", wanted
        for obj, _names in importers:
            label = obj.label
            if any(fnmatch.fnmatchcase(label, p) for p in extras.GCONV_ANY_CHARSET):
                return f"{obj.path} converts charsets named by its input", wanted
        known = frozenset({m.source for _d, m in modules} | {m.target for _d, m in modules} | set(aliases))
        for obj, _names in importers:
            for name in self._charset_strings(obj.entry, obj.info, known):
                wanted.setdefault(aliases.get(name, name), f"charset {name!r} named in {obj.path}")
        for charset, var in extras.locale_charsets(self.image.env):
            name = extras.charset_key(charset)
            wanted.setdefault(aliases.get(name, name), f"locale charset {charset} of {var} in the image Env")
        return None, wanted

    def _config(self, d: str) -> tuple[list[str], extras.GconvConfig]:
        """The configuration files present in `d`, and their modules and aliases merged (the
        binary gconv-modules.cache is kept but not parsed: the text files say the same)."""
        configs = [posixpath.join(d, c) for c in extras.GCONV_CONFIGS]
        configs += self.image.fs.glob(posixpath.join(d, extras.GCONV_CONF_DIR, "*.conf"))
        present: list[str] = []
        merged = extras.GconvConfig([], {})
        for c in configs:
            text = self.image.read_text(c)
            if text is None:
                continue
            present.append(c)
            if not c.endswith(".cache"):
                config = extras.parse_gconv_config(text)
                merged.modules += config.modules
                for k, v in config.aliases.items():
                    merged.aliases.setdefault(k, v)
        return present, merged

    def _charset_strings(self, entry: Entry, info: ElfInfo, known: frozenset[str]) -> list[str]:
        """Charset names of the gconv configuration that are whole strings of the object's
        read-only data (how `iconv_open("EUC-JP", ...)` is seen)."""
        key = (entry.content_key, known)
        hit = self._charsets.get(key)
        if hit is None:
            found: list[str] = []
            for off, size in info.ro_ranges:
                data = self.image.fs.read(entry, min(size, 64 << 20), off)
                for s in data.split(b"\0"):
                    if 2 <= len(s) <= 40:
                        name = extras.charset_key(s.decode("latin-1"))
                        if name in known and name not in found and name not in _BUILTIN_CHARSETS:
                            found.append(name)
            hit = self._charsets[key] = found
        return hit

