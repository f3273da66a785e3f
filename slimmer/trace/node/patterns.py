"""Module names and paths built at run time, as far as their known text goes.

`require('./locale/' + lang)` can only load a file under ./locale/; `path.join(__dirname, 'views',
name)` names something under views/; `require('@img/sharp-' + platform + '/sharp.node')` can only
load from a package whose name starts with `@img/sharp-`. Each is matched against the image: files
under the known directory (for a module, with the extensions `require` tries, and never the docs
or maps of a package), or the packages a bare specifier could reach from its directory.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import RootFS
from slimmer.trace.node.evaluate import HOLE, StaticString
from slimmer.trace.node.packagefiles import is_runtime_file
from slimmer.trace.node.resolve import REQUIRE_EXTENSIONS, ModuleResolver


def matching_files(fs: RootFS, value: StaticString, root: str, module: bool) -> list[Entry]:
    """Files matching a partly known absolute path, under the directory its known text names, if
    that directory is inside `root`; for a `module`, `require`'s extensions may be left out."""
    head = value.parts[0] or ""
    head = posixpath.normpath(head) + ("/" if head.endswith("/") else "")
    pattern = StaticString((head, *value.parts[1:])).pattern()
    base = head[:head.rfind("/")] or "/"
    if not (base + "/").startswith(root.rstrip("/") + "/"):
        return []
    found = []
    for entry in fs.walk(base):
        if entry.type is EntryType.DIR or "/node_modules/" in entry.path[len(base):]:
            continue
        stems = [entry.path] + [entry.path[:-len(e)] for e in REQUIRE_EXTENSIONS if module and entry.path.endswith(e)]
        wanted = not module or is_runtime_file(posixpath.basename(entry.path))
        if wanted and any(pattern.match(stem) for stem in stems):
            found.append(entry)
    return found


@dataclass
class PackageMatches:
    """What a partly known bare specifier can load."""

    specifiers: list[str] = field(default_factory=list)  # complete ones: the unknown part ended a package name
    files_in: list[tuple[str, StaticString]] = field(default_factory=list)  # (package, absolute pattern)
    whole: list[str] = field(default_factory=list)  # packages any file of which may be loaded

    def __bool__(self) -> bool:
        return bool(self.specifiers or self.files_in or self.whole)


def matching_packages(resolver: ModuleResolver, value: StaticString, directory: str) -> PackageMatches:
    """The packages reachable from `directory` whose names fit `value` (a bare specifier with a hole)."""
    words = value.prefix.split("/")
    name_prefix = "/".join(words[:2]) if value.prefix.startswith("@") else words[0]
    matches = PackageMatches()
    for name, package_dir in resolver.packages_named(name_prefix, directory):
        if value.prefix.startswith(name + "/"):  # the whole name is known: files inside it
            matches.files_in.append((package_dir, StaticString((package_dir + value.prefix[len(name):],)
                                                               + value.parts[1:])))
            break  # resolution stops at the nearest package of that name
        rest = value.parts[2:]
        if HOLE not in rest:  # the unknown part ends the name: name + the known rest is the specifier
            specifier = name + "".join(part for part in rest if part is not None)
            if value.pattern().match(specifier):
                matches.specifiers.append(specifier)
        else:
            matches.whole.append(package_dir)
    return matches
