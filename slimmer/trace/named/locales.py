"""Locales: what glibc's setlocale loads for a name (locale/findlocale.c): the compiled
locale in /usr/lib/locale/locale-archive, else a directory /usr/lib/locale/NAME (LOCPATH
first), trying the name as given and with its codeset normalised ("en_US.UTF-8" ->
"en_US.utf8"). The sources localedef compiles (/usr/share/i18n) are a set of their own."""

from __future__ import annotations

import posixpath
import struct
from functools import cached_property

from slimmer.trace.named.model import Catalog, ImageView

LOCALE_DIR = "/usr/lib/locale"
ARCHIVE = "locale-archive"
LOCALE_ALIAS = "/usr/share/locale/locale.alias"
I18N_DIR = "/usr/share/i18n"
TRIVIAL = frozenset({"", "C", "POSIX"})
# the variables glibc reads, most specific first (LANGUAGE only orders message catalogs)
LOCALE_VARIABLES = ("LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_COLLATE", "LC_NUMERIC", "LC_TIME", "LC_MONETARY",
                    "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT", "LC_IDENTIFICATION",
                    "LANG")
ARCHIVE_MAGIC = 0xDE020109
GLIBC_LOCALE_FUNCTIONS = frozenset({"setlocale", "newlocale"})


def normalised_codeset(name: str) -> str:
    """glibc's _nl_normalize_codeset on the codeset of a locale name: letters lower case,
    digits kept, the rest dropped; all digits get "iso" in front."""
    language, dot, rest = name.partition(".")
    if not dot:
        return name
    codeset, at, modifier = rest.partition("@")
    kept = "".join(c.lower() for c in codeset if c.isalnum())
    if kept.isdigit():
        kept = "iso" + kept
    return f"{language}.{kept}{at}{modifier}"


def archive_names(data: bytes) -> set[str]:
    """Locale names in a locale-archive (locale/locarchive.h: the name hash table)."""
    if len(data) < 48 or struct.unpack_from("<I", data, 0)[0] != ARCHIVE_MAGIC:
        return set()
    namehash_offset, _used, namehash_size = struct.unpack_from("<III", data, 20)
    names = set()
    for i in range(namehash_size):
        at = namehash_offset + i * 12
        if at + 12 > len(data):
            break
        _hash, name_offset, _rec = struct.unpack_from("<III", data, at)
        if name_offset and name_offset < len(data):
            end = data.find(b"\0", name_offset)
            names.add(data[name_offset:end].decode("latin-1"))
    return names


class Locales(Catalog):
    """Compiled locales of one image."""

    def __init__(self, view: ImageView) -> None:
        self.view = view
        extra = [d for d in view.env.get("LOCPATH", "").split(":") if d.startswith("/")]
        self.dirs = extra + [LOCALE_DIR]

    def directories(self) -> list[str]:
        return self.dirs

    @cached_property
    def _directories(self) -> dict[str, list[str]]:
        """Locale name -> the locale directories holding a compiled locale of that name."""
        found: dict[str, list[str]] = {}
        for d in self.dirs:
            for name in self.view.fs.listdir(d):
                if self.view.is_dir(posixpath.join(d, name)):
                    found.setdefault(name, []).append(d)
        return found

    @cached_property
    def _archive(self) -> set[str]:
        entry = self.view.fs.lookup(posixpath.join(LOCALE_DIR, ARCHIVE))
        return archive_names(self.view.fs.read(entry)) if entry is not None and entry.is_file else set()

    def _candidates(self, word: str) -> list[str]:
        return list(dict.fromkeys((word, normalised_codeset(word))))

    def name(self, word: str) -> str | None:
        if word in TRIVIAL:
            return None
        for candidate in self._candidates(word):
            if candidate in self._archive or candidate in self._directories:
                return word
        return None

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        for name in names:
            archived = False
            for candidate in self._candidates(name):
                if candidate in self._archive:
                    archived = True
                    found.append((posixpath.join(LOCALE_DIR, ARCHIVE), name, f"the archive holds {candidate}"))
                for d in self._directories.get(candidate, ()):
                    found.append((posixpath.join(d, candidate), name, ""))
            if not archived:
                found.append((LOCALE_ALIAS, name, "the aliases glibc reads for a name the archive does not hold"))
        return found

    def everything(self) -> list[str]:
        return list(self.dirs) + [LOCALE_ALIAS]


class LocaleSources(Catalog):
    """What localedef compiles a locale from: /usr/share/i18n (locales/, charmaps/)."""

    def __init__(self, view: ImageView) -> None:
        self.view = view

    def directories(self) -> list[str]:
        return [I18N_DIR]

    def name(self, word: str) -> str | None:
        return None  # localedef's names come from its command line: all of it is kept

    def files(self, names: list[str]) -> list[tuple[str, str, str]]:
        return []

    def everything(self) -> list[str]:
        return [I18N_DIR]
