"""ELF dependencies exactly as the image's own dynamic loader resolves them.

    reader   ELF facts the loader acts on (struct-parsed, cached by content)
    ldcache  /etc/ld.so.cache (old and new formats, hwcaps extension)
    ldconf   /etc/ld.so.conf with include globs
    loader   glibc and musl search rules; one simulated program start (`Process`)
    extras   data tables: NSS, iconv/gconv, libgcc_s, dlopen names, plugin directories
    tracer   the `ElfTracer` plug-in for the closure
"""

from slimmer.trace.elf.image import ImageLoader
from slimmer.trace.elf.process import Process
from slimmer.trace.elf.reader import ElfError, ElfInfo, parse_elf
from slimmer.trace.elf.tracer import ElfTracer
from slimmer.trace.elf.tree import LOADER_CATEGORIES, LoadTree, TreeItem

__all__ = ["ElfTracer", "ElfInfo", "ElfError", "parse_elf", "ImageLoader", "Process", "LoadTree", "TreeItem",
           "LOADER_CATEGORIES"]
