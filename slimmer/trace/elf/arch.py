"""What fixes how a loader searches: the per-architecture table (multiarch triplet, interpreter,
ld.so.cache flags, $PLATFORM values, hwcaps subdirectories) and the `Rules` of one loader."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from slimmer.trace.elf.reader import ET_DYN, ET_EXEC, ElfInfo


class Libc(str, Enum):
    """The C library a loader belongs to: it fixes the search order and what libc loads itself."""

    GLIBC = "glibc"
    MUSL = "musl"


@dataclass(frozen=True)
class Arch:
    """What glibc and musl were built with for one (e_machine, ELF class)."""

    name: str
    triplet: str  # Debian multiarch directory name
    glibc_interp: str
    musl_arch: str
    cache_flags: frozenset[int]  # ld.so.cache entry flags this ABI accepts (_dl_cache_check_flags)
    platforms: tuple[str, ...]  # values $PLATFORM (AT_PLATFORM or glibc's override) can take
    hwcaps: tuple[str, ...] | None  # glibc-hwcaps subdirectories searched, priority order (None: any)
    legacy_hwcaps: tuple[str, ...] = ()  # legacy hwcap subdirectory names (glibc < 2.37)
    lib64: bool = False  # non-Debian layout uses /lib64, /usr/lib64

    @property
    def musl_interp(self) -> str:
        """Where musl installs its loader (which is also its libc)."""
        return f"/lib/ld-musl-{self.musl_arch}.so.1"


ARCHES: dict[tuple[int, int], Arch] = {
    (62, 64): Arch("x86_64", "x86_64-linux-gnu", "/lib64/ld-linux-x86-64.so.2", "x86_64", frozenset({0x0303}),
                   ("x86_64", "haswell", "xeon_phi"), ("x86-64-v4", "x86-64-v3", "x86-64-v2"),
                   ("x86_64", "avx512_1"), lib64=True),
    (62, 32): Arch("x32", "x86_64-linux-gnux32", "/libx32/ld-linux-x32.so.2", "x32", frozenset({0x0803}),
                   ("x86_64", "haswell", "xeon_phi"), ("x86-64-v4", "x86-64-v3", "x86-64-v2"), ("x86_64",)),
    (3, 32): Arch("i386", "i386-linux-gnu", "/lib/ld-linux.so.2", "i386", frozenset({0x0003, 0x0001}),
                  ("i686", "i586", "i486", "i386"), (), ("sse2", "i686")),
    (183, 64): Arch("aarch64", "aarch64-linux-gnu", "/lib/ld-linux-aarch64.so.1", "aarch64",
                    frozenset({0x0A03}), ("aarch64",), None, ()),
    (40, 32): Arch("arm", "arm-linux-gnueabihf", "/lib/ld-linux-armhf.so.3", "armhf", frozenset({0x0903}),
                   ("v7l", "v8l"), None, ("vfp", "neon")),
    (21, 64): Arch("ppc64le", "powerpc64le-linux-gnu", "/lib64/ld64.so.2", "powerpc64le", frozenset({0x0503}),
                   ("power8", "power9", "power10"), ("power10", "power9"), (), lib64=True),
    (22, 64): Arch("s390x", "s390x-linux-gnu", "/lib/ld64.so.1", "s390x", frozenset({0x0403}),
                   ("z900", "z13", "z14", "z15"), ("z16", "z15", "z14", "z13"), (), lib64=True),
    (243, 64): Arch("riscv64", "riscv64-linux-gnu", "/lib/ld-linux-riscv64-lp64d.so.1", "riscv64",
                    frozenset({0x1003}), ("riscv64",), None, ()),
}


def arch_for(info: ElfInfo) -> Arch:
    """The table row of the object's architecture; an unknown one gets neutral defaults."""
    known = ARCHES.get((info.machine, info.elf_class))
    if known is not None:
        return known
    return Arch(info.machine_name, f"{info.machine_name}-linux-gnu", "", info.machine_name, frozenset(),
                (info.machine_name,), None, ())


@dataclass(frozen=True)
class Rules:
    """How one loader of the image searches: fixed by libc, architecture and interpreter."""

    libc: Libc
    arch: Arch
    elf_class: int
    byteorder: str
    machine: int
    interp: str | None  # as written in PT_INTERP (or the image's default for a library root)
    system_dirs: tuple[str, ...]
    system_dirs_source: str  # "read from /lib64/ld-linux-x86-64.so.2" or "table"
    dst_lib: str  # what $LIB expands to

    def accepts(self, info: ElfInfo) -> str | None:
        """None when the loader would use this object, else why it skips it."""
        if info.elf_class != self.elf_class:
            return f"{info.elf_class}-bit"
        if info.machine != self.machine:
            return f"{info.machine_name} machine"
        if info.byteorder != self.byteorder:
            return f"{info.byteorder}-endian"
        if info.type not in (ET_DYN, ET_EXEC):
            return "not a shared object"
        return None
