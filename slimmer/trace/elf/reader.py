"""ELF facts the dynamic loader acts on, read with `struct` from the image's bytes.

Only what the loader and the tracer need is read: the header, the program headers, the dynamic
section, and the dynamic symbol table (for the names an object imports). Reading is done with
`pread`s of just those regions, so a 100 MB library costs a few small reads, not a full parse;
pyelftools is used by the tests as an independent cross-check of these facts.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

# e_ident
ELFMAG = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
# e_type
ET_REL, ET_EXEC, ET_DYN, ET_CORE = 1, 2, 3, 4
# p_type
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X, PF_W = 1, 2
PN_XNUM = 0xFFFF
# sh_type / sh_flags
SHT_PROGBITS, SHT_DYNSYM = 1, 11
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4
# d_tag
DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT = 0, 1, 4, 5, 6, 10, 11
DT_SONAME, DT_RPATH, DT_RUNPATH, DT_FLAGS = 14, 15, 29, 30
DT_GNU_HASH = 0x6FFFFEF5
DT_FLAGS_1 = 0x6FFFFFFB
# flags
DF_ORIGIN = 0x1
DF_1_NODEFLIB = 0x800
DF_1_PIE = 0x08000000
SHN_UNDEF = 0

# e_machine values the loader tables know by name (others are shown as numbers)
MACHINES = {
    3: "i386", 8: "mips", 20: "ppc", 21: "ppc64", 22: "s390", 40: "arm", 43: "sparcv9",
    62: "x86_64", 183: "aarch64", 243: "riscv", 258: "loongarch",
}

MAX_DYNAMIC_BYTES = 1 << 20  # a dynamic section is a few hundred entries; more is corrupt
MAX_TABLE_BYTES = 64 << 20  # dynsym/dynstr bigger than this is refused rather than read


class ElfError(Exception):
    """The file is not an ELF object the loader could use (truncated, corrupt, unknown class)."""


@dataclass(frozen=True)
class ElfInfo:
    """What the loader sees in one object. Immutable and shared by every path of the same content."""

    elf_class: int  # 32 or 64
    byteorder: str  # "little" or "big"
    machine: int  # e_machine
    osabi: int
    type: int  # e_type: ET_EXEC, ET_DYN, ...
    interp: str | None  # PT_INTERP, as written
    dynamic: bool  # has PT_DYNAMIC
    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: str | None = None  # DT_RPATH as written (None when absent)
    runpath: str | None = None  # DT_RUNPATH as written
    flags: int = 0  # DT_FLAGS
    flags_1: int = 0  # DT_FLAGS_1
    undefined: frozenset[str] = frozenset()  # names of undefined dynamic symbols (what it imports)
    glibc_version: tuple[int, int] | None = None  # highest GLIBC_2.N version string in .dynstr
    ro_ranges: tuple[tuple[int, int], ...] = field(default=(), repr=False)  # (offset, size) of read-only data

    @property
    def machine_name(self) -> str:
        return MACHINES.get(self.machine, f"machine {self.machine}")

    @property
    def is_static(self) -> bool:
        """No interpreter and no dynamic section: nothing is loaded before it runs."""
        return self.interp is None and not self.dynamic

    @property
    def is_static_pie(self) -> bool:
        """Self-relocating executable: dynamic section but no interpreter and no DT_NEEDED."""
        return (self.interp is None and self.dynamic and self.type == ET_DYN and not self.needed
                and bool(self.flags_1 & DF_1_PIE))

    @property
    def nodeflib(self) -> bool:
        return bool(self.flags_1 & DF_1_NODEFLIB)

    @property
    def effective_rpath(self) -> str | None:
        """DT_RPATH as glibc uses it: ignored entirely when the object also has DT_RUNPATH."""
        return None if self.runpath is not None else self.rpath

    def describe(self) -> str:
        """One line for `slim trace`: what kind of ELF object this is."""
        what = {ET_EXEC: "executable", ET_DYN: "shared object", ET_REL: "relocatable object",
                ET_CORE: "core file"}.get(self.type, f"ELF type {self.type}")
        arch = f"{self.elf_class}-bit {self.machine_name}"
        if self.is_static:
            return f"static {arch} {what}: no interpreter, loads no shared libraries"
        if self.is_static_pie:
            return f"static-pie {arch} executable: no interpreter, relocates itself, loads no shared libraries"
        parts = [f"dynamic {arch} {what}"]
        if self.interp:
            parts.append(f"interpreter {self.interp}")
        if self.soname:
            parts.append(f"soname {self.soname}")
        if self.needed:
            parts.append(f"{len(self.needed)} DT_NEEDED")
        if self.rpath is not None:
            parts.append(f"RPATH {self.rpath}" + (" (ignored: RUNPATH present)" if self.runpath is not None else ""))
        if self.runpath is not None:
            parts.append(f"RUNPATH {self.runpath}")
        if self.nodeflib:
            parts.append("DF_1_NODEFLIB")
        return ", ".join(parts)


ReadAt = Callable[[int, int], bytes]  # (offset, size) -> bytes, short at end of file

_GLIBC_VERSION = re.compile(rb"\0GLIBC_2\.(\d+)(?:\.\d+)?\0")


def parse_elf(read_at: ReadAt, file_size: int) -> ElfInfo:
    """Parse the loader-relevant facts of an ELF file given a positional reader."""
    ident = read_at(0, 64)
    if len(ident) < 52 or not ident.startswith(ELFMAG):
        raise ElfError("not an ELF file")
    cls, data = ident[4], ident[5]
    if cls not in (ELFCLASS32, ELFCLASS64):
        raise ElfError(f"unknown ELF class {cls}")
    if data not in (ELFDATA2LSB, ELFDATA2MSB):
        raise ElfError(f"unknown ELF data encoding {data}")
    e = "<" if data == ELFDATA2LSB else ">"
    is64 = cls == ELFCLASS64
    if is64:
        (e_type, e_machine, _v, _entry, e_phoff, e_shoff, _flags, _ehsize, e_phentsize, e_phnum,
         e_shentsize, e_shnum, _shstrndx) = struct.unpack_from(e + "HHIQQQIHHHHHH", ident, 16)
    else:
        (e_type, e_machine, _v, _entry, e_phoff, e_shoff, _flags, _ehsize, e_phentsize, e_phnum,
         e_shentsize, e_shnum, _shstrndx) = struct.unpack_from(e + "HHIIIIIHHHHHH", ident, 16)

    # Section headers: optional, used for the dynsym size and read-only data ranges.
    sections: list[tuple[int, int, int, int, int, int, int]] = []  # type, flags, addr, off, size, link, entsize
    if e_shoff and e_shentsize in (40, 64) and e_shentsize == (64 if is64 else 40):
        first = read_at(e_shoff, e_shentsize)
        if len(first) == e_shentsize:
            sh0 = _shdr(first, 0, e, is64)
            count = e_shnum or sh0[4]  # e_shnum 0: the real count is sh_size of section 0
            if e_phnum == PN_XNUM:
                e_phnum = struct.unpack_from(e + "I", first, 28 if is64 else 24)[0]
            if 0 < count < 65536 and e_shoff + count * e_shentsize <= file_size:
                raw = read_at(e_shoff, count * e_shentsize)
                sections = [_shdr(raw, i * e_shentsize, e, is64) for i in range(len(raw) // e_shentsize)]

    if e_phentsize != (56 if is64 else 32) and e_phnum:
        raise ElfError(f"bad program header size {e_phentsize}")
    raw_ph = read_at(e_phoff, e_phnum * e_phentsize) if e_phnum else b""
    if len(raw_ph) < e_phnum * e_phentsize:
        raise ElfError("truncated program headers")
    loads: list[tuple[int, int, int, int]] = []  # vaddr, offset, filesz, flags
    interp = None
    dyn_off = dyn_size = -1
    for i in range(e_phnum):
        if is64:
            p_type, p_flags, p_offset, p_vaddr, _pa, p_filesz, _memsz, _al = struct.unpack_from(
                e + "IIQQQQQQ", raw_ph, i * 56)
        else:
            p_type, p_offset, p_vaddr, _pa, p_filesz, _memsz, p_flags, _al = struct.unpack_from(
                e + "IIIIIIII", raw_ph, i * 32)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz, p_flags))
        elif p_type == PT_INTERP:
            interp = read_at(p_offset, min(p_filesz, 4096)).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        elif p_type == PT_DYNAMIC:
            dyn_off, dyn_size = p_offset, p_filesz

    ro_ranges = _ro_ranges(sections, loads)
    base = {"elf_class": 64 if is64 else 32, "byteorder": "little" if e == "<" else "big", "machine": e_machine,
                "osabi": ident[7], "type": e_type, "interp": interp, "ro_ranges": ro_ranges}
    if dyn_off < 0 or dyn_size <= 0:
        return ElfInfo(dynamic=False, **base)

    raw_dyn = read_at(dyn_off, min(dyn_size, MAX_DYNAMIC_BYTES))
    tags: dict[int, int] = {}
    needed_offsets: list[int] = []
    fmt, step = (e + "qQ", 16) if is64 else (e + "iI", 8)
    for tag, val in struct.iter_unpack(fmt, raw_dyn[: len(raw_dyn) // step * step]):
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            needed_offsets.append(val)
        else:
            tags.setdefault(tag, val)

    def to_offset(vaddr: int) -> int:
        for v, off, size, _f in loads:
            if v <= vaddr < v + size:
                return vaddr - v + off
        raise ElfError(f"address {vaddr:#x} is not in any loaded segment")

    if DT_STRTAB not in tags:
        raise ElfError("dynamic section without DT_STRTAB")
    strtab_off = to_offset(tags[DT_STRTAB])
    strsz = min(tags.get(DT_STRSZ, 0), MAX_TABLE_BYTES, max(0, file_size - strtab_off))
    dynstr = read_at(strtab_off, strsz)

    def string(off: int) -> str:
        end = dynstr.find(b"\0", off)
        if off >= len(dynstr) or end < 0:
            raise ElfError(f"string offset {off} outside .dynstr")
        return dynstr[off:end].decode("utf-8", "surrogateescape")

    glibc = [int(m.group(1)) for m in _GLIBC_VERSION.finditer(dynstr)]
    return ElfInfo(
        dynamic=True,
        needed=tuple(string(o) for o in needed_offsets),
        soname=string(tags[DT_SONAME]) if DT_SONAME in tags else None,
        rpath=string(tags[DT_RPATH]) if DT_RPATH in tags else None,
        runpath=string(tags[DT_RUNPATH]) if DT_RUNPATH in tags else None,
        flags=tags.get(DT_FLAGS, 0),
        flags_1=tags.get(DT_FLAGS_1, 0),
        undefined=_undefined(read_at, file_size, e, is64, tags, sections, to_offset, dynstr),
        glibc_version=(2, max(glibc)) if glibc else None,
        **base,
    )


def _shdr(raw: bytes, at: int, e: str, is64: bool) -> tuple[int, int, int, int, int, int, int]:
    if is64:
        _n, typ, flags, addr, off, size, link, _i, _al, entsize = struct.unpack_from(e + "IIQQQQIIQQ", raw, at)
    else:
        _n, typ, flags, addr, off, size, link, _i, _al, entsize = struct.unpack_from(e + "IIIIIIIIII", raw, at)
    return typ, flags, addr, off, size, link, entsize


def _ro_ranges(sections, loads) -> tuple[tuple[int, int], ...]:
    """File ranges of read-only, non-code data (where string literals live)."""
    if sections:
        return tuple((off, size) for typ, flags, _a, off, size, _l, _e in sections
                     if typ == SHT_PROGBITS and flags & SHF_ALLOC and not flags & (SHF_WRITE | SHF_EXECINSTR))
    return tuple((off, size) for _v, off, size, flags in loads if not flags & (PF_W | PF_X))


def _undefined(read_at, file_size, e, is64, tags, sections, to_offset, dynstr) -> frozenset[str]:
    """Names of the undefined symbols in .dynsym: what this object imports."""
    entsize = 24 if is64 else 16
    symtab_off = count = None
    for typ, _flags, _addr, off, size, _link, ent in sections:
        if typ == SHT_DYNSYM and ent == entsize:
            symtab_off, count = off, size // entsize
            break
    if symtab_off is None:
        if DT_SYMTAB not in tags:
            return frozenset()
        symtab_off = to_offset(tags[DT_SYMTAB])
        count = _symbol_count(read_at, e, is64, tags, to_offset)
    if count is None:
        return frozenset()
    size = min(count * entsize, MAX_TABLE_BYTES, max(0, file_size - symtab_off))
    raw = read_at(symtab_off, size - size % entsize)
    if is64:
        names = [name for name, _i, _o, shndx, _v, _s in struct.iter_unpack(e + "IBBHQQ", raw)
                 if shndx == SHN_UNDEF and name]
    else:
        names = [name for name, _v, _s, _i, _o, shndx in struct.iter_unpack(e + "IIIBBH", raw)
                 if shndx == SHN_UNDEF and name]
    found = set()
    for off in names:
        end = dynstr.find(b"\0", off)
        if end > 0:
            found.add(dynstr[off:end].decode("utf-8", "surrogateescape"))
    return frozenset(found)


def _symbol_count(read_at, e, is64, tags, to_offset) -> int | None:
    """Number of dynamic symbols from DT_HASH (nchain) or by walking DT_GNU_HASH chains."""
    if DT_HASH in tags:
        return struct.unpack(e + "II", read_at(to_offset(tags[DT_HASH]), 8))[1]
    if DT_GNU_HASH not in tags:
        return None
    off = to_offset(tags[DT_GNU_HASH])
    nbuckets, symoffset, bloom_size, _shift = struct.unpack(e + "IIII", read_at(off, 16))
    buckets_off = off + 16 + bloom_size * (8 if is64 else 4)
    buckets = struct.unpack(f"{e}{nbuckets}I", read_at(buckets_off, nbuckets * 4))
    last = max(buckets, default=0)
    if last < symoffset:
        return symoffset
    chains_off = buckets_off + nbuckets * 4
    index = last
    while True:
        chunk = read_at(chains_off + (index - symoffset) * 4, 4096)
        if len(chunk) < 4:
            return index
        for (value,) in struct.iter_unpack(e + "I", chunk[: len(chunk) // 4 * 4]):
            if value & 1:
                return index + 1
            index += 1


_SO_END = re.compile(rb"\.so(?:\.[0-9]+)*\0")


def library_names(read_at: ReadAt, info: ElfInfo, name: re.Pattern[bytes]) -> list[bytes]:
    """Whole NUL-terminated strings of the read-only data that end like a library file name
    (".so", ".so.1.2") and fully match `name`. Found from their ".so" endings, so the cost is
    one fast scan of the data, whatever its size."""
    found: list[bytes] = []
    for off, size in info.ro_ranges:
        if size <= 0:
            continue
        data = read_at(off, min(size, MAX_TABLE_BYTES))
        for m in _SO_END.finditer(data):
            start = data.rfind(b"\0", 0, m.start()) + 1
            candidate = data[start:m.end() - 1]
            if name.fullmatch(candidate):
                found.append(candidate)
    return found


def read_strings(read_at: ReadAt, info: ElfInfo, pattern: re.Pattern[bytes]) -> list[bytes]:
    """Every match of `pattern` in the object's read-only data (string literals)."""
    found: list[bytes] = []
    for off, size in info.ro_ranges:
        if size > 0:
            found.extend(m.group(1) for m in pattern.finditer(read_at(off, min(size, MAX_TABLE_BYTES))))
    return found
