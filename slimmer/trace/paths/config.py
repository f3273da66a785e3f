"""Configuration following: a kept configuration file (under /etc, a package's conffile, or a
file some configuration names) names what its program reads: absolute paths, names relative to
the file's directory or to the program's compiled-in directories (`include mime.types;`,
`load_module modules/x.so;`), directory globs (`include /etc/nginx/conf.d/*.conf;`: what matches,
and the directory, which the program reads even while it is empty). Text files of a data
directory a program reads whole are followed for absolute paths and for modules named through a
variable of the program (`AS '$libdir/plpgsql'`).

What is found is kept: files, and directories with what they hold when they are the program's
own (not shared by several packages: a document root, a data directory); a path that does not
exist yet (a pid file, a log) keeps the directory it will be created in.

Files whose meaning other rules model exactly (the NSS databases and nsswitch.conf, ld.so's,
the resolver's) are not followed: their words are user names and service names, not paths; nor
are the shells' startup files, which are shell code.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from slimmer.rootfs.entry import Entry
from slimmer.rootfs.filekind import FileKind
from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.closure import Need, TraceContext
from slimmer.trace.elf import extras
from slimmer.trace.namedfiles import is_virtual, link_to_virtual
from slimmer.trace.paths.registry import Readers

MAX_CONFIG_BYTES = 4 << 20
MODELLED = frozenset(extras.NSS_FILES.values()) | {
    extras.NSSWITCH_CONF, "/etc/ld.so.conf", "/etc/ld.so.preload", "/etc/gai.conf", "/etc/host.conf",
    "/etc/resolv.conf", "/etc/shells", "/etc/os-release", "/usr/lib/os-release", "/etc/hostname", "/etc/mtab",
    "/etc/fstab", "/etc/subuid", "/etc/subgid", "/etc/login.defs", "/etc/adduser.conf", "/etc/deluser.conf",
    "/etc/profile", "/etc/bash.bashrc", "/etc/bash.bash_logout", "/etc/environment",
}
NOT_FOLLOWED = ("/etc/profile.d/", "/etc/ld.so.conf.d/")
_COMMENT = re.compile(r"(?:^|(?<=\s))(?:#|;|--|//).*$", re.MULTILINE)
_TOKEN = re.compile(r"[A-Za-z0-9_.+@%=:*?\[\]$/{}-]+")
_VARIABLE_MODULE = re.compile(r"\$\w+/([A-Za-z0-9_.+-]+)")
_GLOB = re.compile(r"[*?\[]")


class ConfigTracer:
    """Tracer plug-in following what configuration and data files name."""

    name = "config"
    reads_data = True  # configuration is read, not run: the closure hands it over all the same

    def __init__(self, readers: Readers) -> None:
        self.readers = readers
        self._named: set[str] = set()  # real paths of files a configuration named (configuration too)

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        if ctx.kind(entry) is not FileKind.TEXT or path in MODELLED or path.startswith(NOT_FOLLOWED):
            return []
        configuration = path.startswith("/etc/") or path in self._named or self._conffile(path)
        data = not configuration and self.readers.in_data_directory(path)
        if not (configuration or data):
            return []
        text = _COMMENT.sub("", ctx.fs.read(entry, MAX_CONFIG_BYTES).decode("utf-8", "surrogateescape"))
        bases = self.readers.search_directories(path)
        needs: list[Need] = []
        seen: set[str] = set()
        for token in dict.fromkeys(_TOKEN.findall(text)):
            for module in _VARIABLE_MODULE.findall(token):
                needs += self._modules(path, module, ctx)
            word = token.strip(":=,")
            if word.startswith("/"):
                candidates = [word]
            elif configuration and not word.startswith(("$", "{")) and len(word) > 1:
                candidates = [posixpath.join(b, word) for b in bases]
            else:
                continue
            for candidate in candidates:
                if candidate not in seen:
                    seen.add(candidate)
                    needs += self._found(path, candidate, absolute=word.startswith("/"), ctx=ctx)
        return needs

    def _conffile(self, path: str) -> bool:
        package = self.readers.packages.owner(path)
        return package is not None and path in package.conffiles

    def _found(self, config: str, candidate: str, absolute: bool, ctx: TraceContext,
               pattern: bool = True) -> list[Need]:
        """What `candidate` names; `pattern`: it may be a glob (a glob's match is a name, whatever
        characters it holds)."""
        candidate = posixpath.normpath(candidate)
        if is_virtual(candidate) or candidate == "/":
            return []
        if pattern and _GLOB.search(candidate):
            directory = posixpath.dirname(candidate)
            needs = [need for match in ctx.fs.glob(candidate)
                     for need in self._found(config, match, absolute, ctx, pattern=False)]
            if not _GLOB.search(directory) and ctx.fs.lookup(directory) is not None:
                needs.append(Need(directory, f"directory read by a glob named in {config}", optional=True,
                                  rule="config"))
            return needs
        try:
            resolved = ctx.fs.resolve(candidate)
        except SymlinkLoopError:
            return []
        entry = resolved.entry
        why = f"named in {config}"
        if link_to_virtual(resolved):
            return [Need(candidate, f"{why}, a symlink to {resolved.path}", optional=True, rule="config", data=True)]
        if entry is None:
            return self._parent(config, candidate, ctx) if absolute else []
        self._named.add(resolved.path)
        if entry.is_dir:
            whole = absolute and self.readers.private(resolved.path)
            return [Need(candidate, f"{why}" + (" (the program's own directory, with what it holds)" if whole else ""),
                         recursive=whole, optional=True, rule="config")]
        return [Need(candidate, why, optional=True, rule="config")]

    @staticmethod
    def _parent(config: str, named: str, ctx: TraceContext) -> list[Need]:
        """A path the configuration makes the program create: the directory it goes into."""
        parent = posixpath.dirname(named)
        while parent != "/":
            entry = ctx.fs.lookup(parent)
            if entry is not None:
                return [Need(parent, f"directory of {named}, named in {config}", optional=True,
                             rule="config")] if entry.is_dir else []
            parent = posixpath.dirname(parent)
        return []

    def _modules(self, path: str, name: str, ctx: TraceContext) -> list[Need]:
        """`$libdir/NAME`: the module NAME.so in a compiled-in directory of the file's readers."""
        needs = []
        for reader in sorted(self.readers.readers_of(path)):
            for directory in self.readers.directories.get(reader, ()):
                for candidate in (posixpath.join(directory, name + ".so"), posixpath.join(directory, name)):
                    entry = ctx.fs.lookup(candidate)
                    if entry is not None and entry.is_file:
                        needs.append(Need(candidate, f"module {name} named in {path} (in {directory}, compiled "
                                                     f"into {reader})", optional=True, rule="config"))
                        break
        return needs
