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
    process       one simulated program start (`Process`)
    extras        data tables: NSS, iconv/gconv, libgcc_s, dlopen names, plugin directories
    nss           NSS files and modules libc reads and dlopens for the functions imported
    gconv         gconv configuration and the modules iconv_open may load
    dlopens       libgcc_s, dlopen names held as strings, plugin directories
    tracer        the `ElfTracer` plug-in for the closure
"""

from slimmer.trace.elf.image import ImageLoader
from slimmer.trace.elf.process import Process
from slimmer.trace.elf.reader import ElfError, ElfInfo, parse_elf
from slimmer.trace.elf.tracer import ElfTracer
from slimmer.trace.elf.tree import LOADER_CATEGORIES, LoadTree, TreeItem

__all__ = [
           "LOADER_CATEGORIES",
           "ElfError",
           "ElfInfo",
           "ElfTracer",
           "ImageLoader",
           "LoadTree",
           "Process",
           "TreeItem",
           "parse_elf",
]
