"""ELF dependencies exactly as the image's own dynamic loader resolves them.

    reader        ELF facts the loader acts on (struct-parsed, cached by content)
    ldcache       /etc/ld.so.cache (old and new formats, hwcaps extension)
    ldconf        /etc/ld.so.conf with include globs
    arch          per-architecture table; the `Rules` of one loader
    tokens        $ORIGIN, $LIB, $PLATFORM in RPATH, RUNPATH, LD_LIBRARY_PATH
    image         `ImageLoader`: state shared by every program of one image, read once
    tree          what a start produces: `LoadTree`, `TreeItem`, `LoadedObject`
    search        the part of a name's search both loaders share (open_verify)
    search_glibc  ld.so's order: RPATH chain, LD_LIBRARY_PATH, RUNPATH, cache, system dirs
    search_musl   musl's order: LD_LIBRARY_PATH, rpath chain, path file
    process       one simulated program start (`Process`), its extras given by the caller
    extras        data tables: NSS, libgcc_s, dlopen names, static binaries
    nss           NSS files and modules libc reads and dlopens for the functions imported
    dlopens       libgcc_s, dlopen names held as strings
    behind        the extras every start runs (what loads behind the program's back)
    rodata        literals of an object: C strings, Go string data, compiled-in paths
    tracer        the `ElfTracer` plug-in for the closure

Data libc and libraries pick by name (gconv modules, time zones, locales, plugins) is in
slimmer/trace/named/; compiled-in paths in slimmer/trace/paths/.
"""

from slimmer.trace.elf.image import ImageLoader
from slimmer.trace.elf.process import Process
from slimmer.trace.elf.reader import ElfError, ElfInfo, parse_elf
from slimmer.trace.elf.tracer import ElfTracer
from slimmer.trace.elf.tree import LOADER_CATEGORIES, Category, LoadTree, TreeItem

__all__ = [
           "LOADER_CATEGORIES",
           "Category",
           "ElfError",
           "ElfInfo",
           "ElfTracer",
           "ImageLoader",
           "LoadTree",
           "Process",
           "TreeItem",
           "parse_elf",
]
