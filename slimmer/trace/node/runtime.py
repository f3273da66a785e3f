"""A Node.js runtime in the image: where it looks for modules, and what it loads by itself.

Node's build configuration (`process.config`) is compiled into the binary as JSON text, in the
executable (the official build: one large binary with ICU and OpenSSL inside) or in the shared
library it loads (Debian's `nodejs` is a small executable and `libnode.so`). It says:

- `node_relative_path`: Debian's global module folders (`lib/x86_64-linux-gnu/nodejs:share/nodejs`),
  relative to the prefix; Node's own default is `lib/node`;
- `NODE_SHARED_BUILTIN_*_PATH`: built-in modules a distribution ships as files instead of
  compiling them in (Debian: cjs-module-lexer, undici, acorn under /usr/share/nodejs); the ELF
  loader never sees these, and Node cannot start an ES module importing CommonJS without them;
- `node_module_version`: the ABI, hence the version family (108 is Node 18, 115 is 20, 127 is 22).

These are read from the image's own files, never by running them.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.fs import RootFS
from slimmer.trace.node.exportsmap import Conditions
from slimmer.trace.node.options import NodeCommand
from slimmer.trace.node.resolve import ResolverSettings

_CHUNK = 8 << 20
_OVERLAP = 4096
_RELATIVE_PATH = re.compile(rb'"node_relative_path":\s*"([^"]*)"')
_MODULE_VERSION = re.compile(rb'"node_module_version":\s*(\d+)')
_SHARED_BUILTIN = re.compile(rb"NODE_SHARED_BUILTIN_[A-Z0-9_]+_PATH=(/[^\"\s,\]]+)")
REQUIRE_MODULE_ABI = 115  # Node 20: from 20.19 (and 22.12) `require` of ES modules and the "module-sync" condition


@dataclass(frozen=True)
class BuildConfig:
    """What the runtime's compiled-in configuration says (defaults when it is not found)."""

    relative_paths: tuple[str, ...] = ("lib/node",)
    shared_builtins: tuple[str, ...] = ()
    module_version: int | None = None
    found_in: str | None = None  # the file it was read from


def read_build_config(fs: RootFS, path: str, entry: Entry) -> BuildConfig | None:
    """The configuration embedded in one ELF file, or None if it holds none (read in chunks)."""
    relative: bytes | None = None
    version: int | None = None
    shared: list[str] = []
    offset = 0
    while offset < entry.size:
        chunk = fs.read(entry, min(_CHUNK + _OVERLAP, entry.size - offset), offset)
        if relative is None and (m := _RELATIVE_PATH.search(chunk)):
            relative = m.group(1)
        if version is None and (m := _MODULE_VERSION.search(chunk)):
            version = int(m.group(1))
        shared += [m.group(1).decode("utf-8", "replace") for m in _SHARED_BUILTIN.finditer(chunk)]
        offset += _CHUNK
    if version is None:
        return None
    relative_paths = tuple(p for p in relative.decode().split(":") if p) if relative else ("lib/node",)
    return BuildConfig(relative_paths, tuple(dict.fromkeys(shared)), version, path)


@dataclass(frozen=True)
class NodeRuntime:
    """One node binary of the image, as the modules it runs see it."""

    program: str  # its real path (process.execPath)
    config: BuildConfig = field(default_factory=BuildConfig)

    @property
    def prefix(self) -> str:
        return posixpath.dirname(posixpath.dirname(self.program))

    def settings(self, command: NodeCommand, env: dict[str, str], homes: list[str]) -> ResolverSettings:
        """How `require` and `import` resolve for a process started with `command` and `env`."""
        folders = [p for p in env.get("NODE_PATH", "").split(":") if p]
        for home in homes:
            folders += [posixpath.join(home, ".node_modules"), posixpath.join(home, ".node_libraries")]
        folders += [posixpath.normpath(posixpath.join(self.prefix, p)) for p in self.config.relative_paths]
        version = self.config.module_version
        possible = frozenset({"module-sync"}) if version is None or version >= REQUIRE_MODULE_ABI else frozenset()
        extra = frozenset(c for value in command.conditions for c in value.split(",") if c)
        return ResolverSettings(
            global_folders=tuple(dict.fromkeys(folders)),
            require_conditions=Conditions(frozenset({"node", "require"}) | extra, possible),
            import_conditions=Conditions(frozenset({"node", "import"}) | extra, possible))
