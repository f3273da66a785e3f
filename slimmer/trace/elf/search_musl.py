"""musl's search for a name without '/' (ldso/dynlink.c, load_library): names of libc itself
(libc.so, libpthread.so, ...) are the loader; LD_LIBRARY_PATH; the DT_RUNPATH-or-DT_RPATH of L
and of every object up L's chain (both inherited); /etc/ld-musl-ARCH.path relative to the
loader's prefix, else /lib:/usr/local/lib:/usr/lib. No cache, no hwcaps, no class check (the
first file found wins)."""

from __future__ import annotations

import posixpath

from slimmer.trace.elf.search import Search, SearchResult
from slimmer.trace.elf.tokens import expand_musl
from slimmer.trace.elf.tree import LoadedObject

MUSL_DEFAULT_PATH = "/lib:/usr/local/lib:/usr/lib"
# names musl's loader answers itself (ldso/dynlink.c "reserved")
MUSL_RESERVED = ("c", "pthread", "rt", "m", "dl", "util", "xnet")


def is_musl_libc_name(name: str) -> bool:
    """libc.so, libpthread.so.0, libm.so.6, ...: musl's loader is that library itself."""
    return name.startswith("lib") and any(name[3:].startswith(r + ".") for r in MUSL_RESERVED)


class MuslSearch(Search):
    """musl's search order."""

    def _search(self, name: str, requester: LoadedObject, result: SearchResult) -> None:
        cwd = self.image.cwd
        llp = self.image.env.get("LD_LIBRARY_PATH")
        if llp and self._try_dirs(name, expand_musl(llp, None, cwd), "LD_LIBRARY_PATH", result):
            return
        obj: LoadedObject | None = requester
        while obj is not None:
            spec = obj.info.runpath if obj.info.runpath is not None else obj.info.rpath
            if spec and self._try_dirs(name, expand_musl(spec, obj.origin, cwd), f"rpath of {obj.path}", result):
                return
            obj = obj.loader
        interp = self.rules.interp or self.rules.arch.musl_interp
        prefix = posixpath.dirname(posixpath.dirname(interp)).rstrip("/")
        path_file = f"{prefix}/etc/ld-musl-{self.rules.arch.musl_arch}.path"
        text = self.image.read_text(path_file)
        if text is not None:
            self._emit_data(path_file, f"musl's library path file, read when {name} is not in an rpath",
                            requester.real)
            dirs, label = expand_musl(text.replace("\n", ":"), None, cwd), path_file
        else:
            dirs, label = MUSL_DEFAULT_PATH.split(":"), "musl default path"
        self._try_dirs(name, dirs, label, result)

    def _try_dirs(self, name: str, dirs: list[str], label: str, result: SearchResult) -> bool:
        for d in dirs:
            result.searched.append(f"{label} {d}")
            path = posixpath.join(d, name)
            _real, entry = self.image.resolve(path)
            if entry is None or not entry.is_file:
                continue
            # musl opens the first file of that name and stops, whatever it holds
            return self._try_file(path, name, f"found in {label} {d}", result)
        return False
