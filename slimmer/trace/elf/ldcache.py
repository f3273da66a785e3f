"""/etc/ld.so.cache as glibc's loader reads it (elf/dl-cache.c, sysdeps/generic/dl-cache.h).

Two layouts exist: the old "ld.so-1.7.0" table (optionally followed by the new one, as glibc
< 2.32 wrote it) and the new "glibc-ld.so.cache1.1" table, alone since glibc 2.32. Each new
entry has flags (ELF type and the ABI it is for), a key (the soname), a value (the path
ldconfig found it at, dir + soname) and an hwcap word: bit 62 set means the low 32 bits index
the glibc-hwcaps subdirectory names of the extension section; other bits are the legacy hwcap
mask (tls, platform), gone in glibc 2.37.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

LD_SO_CACHE = "/etc/ld.so.cache"
OLD_MAGIC = b"ld.so-1.7.0"
NEW_MAGIC = b"glibc-ld.so.cache1.1"
EXTENSION_MAGIC = 0xEAA42174
EXTENSION_TAG_GLIBC_HWCAPS = 1
HWCAP_EXTENSION = 1 << 62


@dataclass(frozen=True)
class CacheEntry:
    key: str  # the name looked up (soname)
    path: str  # where ldconfig found it
    flags: int
    hwcap: int = 0
    hwcaps_subdir: str | None = None  # "x86-64-v3" for glibc-hwcaps entries

    @property
    def is_baseline(self) -> bool:
        """Chosen on any CPU (no hwcap condition)."""
        return self.hwcap == 0


@dataclass
class LdCache:
    entries: list[CacheEntry] = field(default_factory=list)
    format: str = "new"  # "new", "old" or "old+new"
    _by_key: dict[str, list[CacheEntry]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for entry in self.entries:
            self._by_key.setdefault(entry.key, []).append(entry)

    def lookup(self, name: str, accepted_flags: frozenset[int]) -> list[CacheEntry]:
        """Entries for `name` usable by this ABI, in cache order (hwcaps variants before the baseline)."""
        return [e for e in self._by_key.get(name, ()) if e.flags in accepted_flags]

    def __contains__(self, name: str) -> bool:
        return name in self._by_key


class LdCacheError(ValueError):
    pass


def parse_ldcache(data: bytes, byteorder: str = "little") -> LdCache:
    """Parse the bytes of an ld.so.cache file."""
    e = "<" if byteorder == "little" else ">"
    if data.startswith(NEW_MAGIC):
        return LdCache(_parse_new(data, 0, e), "new")
    if data.startswith(OLD_MAGIC):
        if len(data) < 16:
            raise LdCacheError("truncated old-format header")
        nlibs = struct.unpack_from(e + "I", data, 12)[0]
        end_old = 16 + nlibs * 12
        new_at = (end_old + 7) & ~7  # ALIGN_CACHE: the new table is aligned for its uint64 fields
        if data[new_at:new_at + len(NEW_MAGIC)] == NEW_MAGIC:
            return LdCache(_parse_new(data, new_at, e), "old+new")
        entries = []
        strings = end_old  # old format: keys and values are offsets from the end of the table
        for i in range(nlibs):
            flags, key, value = struct.unpack_from(e + "iII", data, 16 + i * 12)
            entries.append(CacheEntry(_cstr(data, strings + key), _cstr(data, strings + value), flags))
        return LdCache(entries, "old")
    raise LdCacheError("not an ld.so.cache file")


def _parse_new(data: bytes, at: int, e: str) -> list[CacheEntry]:
    if len(data) < at + 48:
        raise LdCacheError("truncated header")
    nlibs, _len_strings, flags, ext_offset = struct.unpack_from(e + "IIB3xI", data, at + 20)
    if (flags == 3 and e == "<") or (flags == 2 and e == ">"):
        e = ">" if e == "<" else "<"  # the header says which byte order the file was written in
        nlibs, _len_strings, flags, ext_offset = struct.unpack_from(e + "IIB3xI", data, at + 20)
    if at + 48 + nlibs * 24 > len(data):
        raise LdCacheError(f"{nlibs} entries do not fit in {len(data)} bytes")
    hwcaps_names = _hwcaps_names(data, at, ext_offset, e)
    entries = []
    for i in range(nlibs):
        fl, key, value, _osv, hwcap = struct.unpack_from(e + "iIIIQ", data, at + 48 + i * 24)
        subdir = None
        if hwcap & HWCAP_EXTENSION:
            index = hwcap & 0xFFFFFFFF
            subdir = hwcaps_names[index] if index < len(hwcaps_names) else f"#{index}"
        # string offsets of the new format are relative to the start of the new header
        entries.append(CacheEntry(_cstr(data, at + key), _cstr(data, at + value), fl, hwcap, subdir))
    return entries


def _hwcaps_names(data: bytes, at: int, ext_offset: int, e: str) -> list[str]:
    if not ext_offset or ext_offset + 8 > len(data):
        return []
    magic, count = struct.unpack_from(e + "II", data, ext_offset)
    if magic != EXTENSION_MAGIC:
        return []
    for i in range(count):
        tag, _flags, offset, size = struct.unpack_from(e + "IIII", data, ext_offset + 8 + i * 16)
        if tag == EXTENSION_TAG_GLIBC_HWCAPS:
            offsets = struct.unpack_from(f"{e}{size // 4}I", data, offset)
            # string offsets count from the new table, as its entries' strings do (`ldconfig -p`
            # of glibc 2.36 counts them from the file start and prints garbage for compat files)
            return [_cstr(data, at + o) for o in offsets]
    return []


def _cstr(data: bytes, at: int) -> str:
    end = data.find(b"\0", at)
    if at >= len(data) or end < 0:
        raise LdCacheError(f"string offset {at} outside the file")
    return data[at:end].decode("utf-8", "surrogateescape")
