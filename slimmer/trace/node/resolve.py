"""Node's module resolution inside the image: `require` (CommonJS) and `import` (ES modules).

Both follow the algorithms of Node's documentation (doc/api/modules.md "All together" and
doc/api/esm.md "Resolution algorithm specification"), reading the image's files:

- `require`: relative and absolute paths with extension probing (`.js`, `.json`, `.node`) and
  directory `main`/`index`; `#imports`; a package referring to itself by name; `node_modules`
  directories up the tree (skipping those inside a `node_modules`), then the global folders
  (`NODE_PATH`, `$HOME/.node_modules`, `$HOME/.node_libraries`, the runtime's library folders).
- `import`: URLs (relative, `file:`), no probing, `#imports`, self-reference, `node_modules` up the
  tree; a package without `exports` falls back to `main` and `index` as Node's legacy main lookup.

A file found is returned as Node opened it, before `realpath`: the closure keeps the symlinks on
the way (npm links, workspaces, pnpm's `.pnpm` store), and the module's own requests are resolved
from its real directory, as Node does unless `--preserve-symlinks`.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import RootFS, SymlinkLoopError
from slimmer.trace.node.builtins import is_builtin
from slimmer.trace.node.exportsmap import Conditions, PackageMapError, Target, resolve_exports, resolve_imports
from slimmer.trace.node.packagejson import PackageJson, PackageJsons

REQUIRE_EXTENSIONS = (".js", ".json", ".node")  # Module._extensions, in probing order
# A package name and its subpath, as Node splits a bare specifier (EXPORTS_PATTERN of the CJS loader).
_PACKAGE_SPECIFIER = re.compile(r"^((?:@[^/\\%]+/)?[^./\\%][^/\\%]*)(/.*)?$")


class NotFound(Exception):
    """Node would throw for this specifier (MODULE_NOT_FOUND, ERR_PACKAGE_PATH_NOT_EXPORTED, ...)."""


@dataclass
class Resolution:
    """What resolving one specifier reads and finds."""

    files: list[str] = field(default_factory=list)  # as opened (several only under possible conditions)
    package_jsons: list[str] = field(default_factory=list)  # package.json files read on the way
    builtin: bool = False  # served by the runtime (a built-in module, a `data:` URL): no file
    error: str | None = None


@dataclass(frozen=True)
class ResolverSettings:
    """What the runtime and its options decide about resolution."""

    global_folders: tuple[str, ...] = ()  # NODE_PATH entries, then the home and runtime folders
    require_conditions: Conditions = field(default_factory=lambda: Conditions(frozenset({"node", "require"})))
    import_conditions: Conditions = field(default_factory=lambda: Conditions(frozenset({"node", "import"})))


class ModuleResolver:
    """Resolves specifiers from a directory, with the image's package.json files."""

    def __init__(self, fs: RootFS, packages: PackageJsons, settings: ResolverSettings) -> None:
        self.fs = fs
        self.packages = packages
        self.settings = settings
        self._cache: dict[tuple[str, str, str], Resolution] = {}
        self._types: dict[str, EntryType | None] = {}

    # -- the three entry points --

    def require(self, specifier: str, parent_dir: str) -> Resolution:
        """`require(specifier)` in a module whose real directory is `parent_dir`."""
        return self._cached("require", specifier, parent_dir)

    def import_(self, specifier: str, parent_dir: str) -> Resolution:
        """`import specifier` in a module whose real directory is `parent_dir`."""
        return self._cached("import", specifier, parent_dir)

    def main(self, path: str) -> Resolution:
        """The program file of `node PATH` (or a worker, a fork): a `require` of the absolute path."""
        return self._cached("require", posixpath.normpath(path), "/")

    def _cached(self, kind: str, specifier: str, parent_dir: str) -> Resolution:
        key = (kind, specifier, parent_dir)
        found = self._cache.get(key)
        if found is None:
            found = Resolution()
            read: list[str] = []
            try:
                if is_builtin(specifier):
                    found.builtin = True
                elif kind == "require":
                    found.files = self._require(specifier, parent_dir, read)
                else:
                    found.files = self._import(specifier, parent_dir, read)
            except NotFound as e:
                found.error = str(e)
            found.builtin = found.builtin or (found.error is None and not found.files)
            found.package_jsons = list(dict.fromkeys(read))
            self._cache[key] = found
        return found

    def packages_named(self, prefix: str, parent_dir: str) -> list[tuple[str, str]]:
        """(name, directory) of the packages a bare specifier starting with `prefix` could reach
        from `parent_dir`: those whose name starts with it, nearest first, each name once."""
        scope, _, start = prefix.rpartition("/") if prefix.startswith("@") else ("", "", prefix)
        found: dict[str, str] = {}
        for directory in node_modules_paths(parent_dir) + list(self.settings.global_folders):
            base = posixpath.join(directory, scope) if scope else directory
            for name in self.fs.listdir(base):
                full = f"{scope}/{name}" if scope else name
                if name.startswith(start) and not name.startswith(".") and full not in found \
                        and self._is_dir(posixpath.join(base, name)):
                    found[full] = posixpath.join(base, name)
        return list(found.items())

    # -- file system helpers --

    def _type(self, path: str) -> EntryType | None:
        if path not in self._types:
            try:
                entry = self.fs.lookup(path)
            except SymlinkLoopError:
                entry = None
            self._types[path] = None if entry is None else entry.type
        return self._types[path]

    def _is_file(self, path: str) -> bool:
        return self._type(path) is EntryType.FILE

    def _is_dir(self, path: str) -> bool:
        return self._type(path) is EntryType.DIR

    def _package(self, directory: str, read: list[str]) -> PackageJson | None:
        found = self.packages.in_directory(directory)
        if found is not None:
            read.append(found.path)
        return found

    def _scope(self, directory: str, read: list[str]) -> PackageJson | None:
        found = self.packages.scope(directory)
        if found is not None:
            read.append(found.path)
        return found

    # -- CommonJS --

    def _require(self, specifier: str, parent_dir: str, read: list[str]) -> list[str]:
        trailing_slash = specifier.endswith(("/", "/.", "/..")) or specifier in (".", "..")
        if specifier.startswith(("./", "../", "/")) or specifier in (".", ".."):
            base = posixpath.normpath(posixpath.join(parent_dir, specifier))
            found = self._load_path(base, trailing_slash, read)
            if found is None:
                raise NotFound(f"cannot find module {specifier!r}")
            return [found]
        if specifier.startswith("#"):
            return self._imports(specifier, parent_dir, self.settings.require_conditions, read)
        match = _PACKAGE_SPECIFIER.match(specifier)
        if match is not None:
            own = self._self_reference(match.group(1), match.group(2) or "", parent_dir,
                                       self.settings.require_conditions, read)
            if own is not None:
                return own
        for directory in node_modules_paths(parent_dir) + list(self.settings.global_folders):
            if match is not None:
                exported = self._package_exports(posixpath.join(directory, match.group(1)), match.group(2) or "",
                                                 self.settings.require_conditions, read)
                if exported is not None:
                    return exported
            found = self._load_path(posixpath.join(directory, specifier), trailing_slash, read)
            if found is not None:
                return [found]
        raise NotFound(f"cannot find module {specifier!r}")

    def _load_path(self, base: str, trailing_slash: bool, read: list[str]) -> str | None:
        """LOAD_AS_FILE, then LOAD_AS_DIRECTORY."""
        if not trailing_slash:
            found = self._load_as_file(base)
            if found is not None:
                return found
        if self._is_dir(base):
            return self._load_as_directory(base, read)
        return None

    def _load_as_file(self, base: str) -> str | None:
        for candidate in (base, *(base + extension for extension in REQUIRE_EXTENSIONS)):
            if self._is_file(candidate):
                return candidate
        return None

    def _load_index(self, directory: str) -> str | None:
        return self._load_as_file_with_extensions(posixpath.join(directory, "index"))

    def _load_as_file_with_extensions(self, base: str) -> str | None:
        for extension in REQUIRE_EXTENSIONS:
            if self._is_file(base + extension):
                return base + extension
        return None

    def _load_as_directory(self, directory: str, read: list[str]) -> str | None:
        package = self._package(directory, read)
        if package is not None and package.main:
            main = posixpath.normpath(posixpath.join(directory, package.main))
            found = self._load_as_file(main) or self._load_index(main) or self._load_index(directory)
            if found is None:
                raise NotFound(f"cannot find the \"main\" {package.main!r} of {package.path}")
            return found
        return self._load_index(directory)

    def _package_exports(self, package_dir: str, subpath: str, conditions: Conditions,
                         read: list[str]) -> list[str] | None:
        """LOAD_PACKAGE_EXPORTS: None when the package is absent or has no `exports`."""
        package = self._package(package_dir, read)
        if package is None or package.exports is None:
            return None
        return self._exports(package, subpath, conditions, read)

    def _self_reference(self, name: str, subpath: str, parent_dir: str, conditions: Conditions,
                        read: list[str]) -> list[str] | None:
        """A package importing itself by its own name, through its `exports`."""
        scope = self.packages.scope(parent_dir)
        if scope is None or scope.exports is None or scope.name != name:
            return None
        read.append(scope.path)
        return self._exports(scope, subpath, conditions, read)

    def _imports(self, specifier: str, parent_dir: str, conditions: Conditions, read: list[str]) -> list[str]:
        scope = self._scope(parent_dir, read)
        if scope is None or scope.imports is None:
            raise NotFound(f"{specifier!r} is not defined: no \"imports\" in the package scope of {parent_dir}")
        try:
            targets = resolve_imports(scope.directory, specifier, scope.imports, conditions)
        except PackageMapError as e:
            raise NotFound(str(e)) from None
        return self._targets(scope, targets, conditions, read)

    def _exports(self, package: PackageJson, subpath: str, conditions: Conditions, read: list[str]) -> list[str]:
        """What the package's `exports` give for `.SUBPATH`."""
        try:
            targets = resolve_exports(package.directory, "." + subpath, package.exports, conditions)
        except PackageMapError as e:
            raise NotFound(str(e)) from None
        return self._targets(package, targets, conditions, read)

    def _targets(self, package: PackageJson, targets: list[Target], conditions: Conditions,
                 read: list[str]) -> list[str]:
        """The files map entries lead to (each must exist: no probing), packages named by `imports` resolved."""
        files: list[str] = []
        for target in targets:
            if target.package_specifier is not None:
                if not is_builtin(target.package_specifier):
                    files += self._package_resolve(target.package_specifier, package.directory, conditions, read)
            elif target.path is not None:
                if not self._is_file(target.path):
                    raise NotFound(f"{target.path} (named by {package.path}) does not exist")
                files.append(target.path)
        return files

    # -- ES modules --

    def _import(self, specifier: str, parent_dir: str, read: list[str]) -> list[str]:
        conditions = self.settings.import_conditions
        if specifier.startswith(("./", "../", "/", "file:")):
            path = file_url_path(specifier, parent_dir)
            return [self._finalize(path, specifier)]
        if specifier.startswith("#"):
            return [self._finalize(p, specifier) for p in self._imports(specifier, parent_dir, conditions, read)]
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", specifier):
            if specifier.startswith("data:"):
                return []
            raise NotFound(f"unsupported URL scheme in {specifier!r}")
        return [self._finalize(p, specifier) for p in self._package_resolve(specifier, parent_dir, conditions, read)]

    def _finalize(self, path: str, specifier: str) -> str:
        kind = self._type(path)
        if kind is EntryType.DIR:
            raise NotFound(f"directory import {specifier!r} is not supported by ES modules")
        if kind is not EntryType.FILE:
            raise NotFound(f"cannot find module {path} imported as {specifier!r}")
        return path

    def _package_resolve(self, specifier: str, parent_dir: str, conditions: Conditions, read: list[str]) -> list[str]:
        """PACKAGE_RESOLVE: self-reference, then `node_modules/NAME` in each directory up from the parent."""
        match = _PACKAGE_SPECIFIER.match(specifier)
        if match is None:
            raise NotFound(f"invalid package specifier {specifier!r}")
        name, subpath = match.group(1), match.group(2) or ""
        own = self._self_reference(name, subpath, parent_dir, conditions, read)
        if own is not None:
            return own
        directory = parent_dir
        while True:
            package_dir = posixpath.join(directory, "node_modules", name)
            if self._is_dir(package_dir):
                package = self._package(package_dir, read)
                if package is not None and package.exports is not None:
                    return self._exports(package, subpath, conditions, read)
                if not subpath:
                    return [self._legacy_main(package_dir, package)]
                return [posixpath.join(package_dir, subpath.lstrip("/"))]
            if directory == "/":
                raise NotFound(f"cannot find package {name!r} imported from {parent_dir}")
            directory = posixpath.dirname(directory)

    def _legacy_main(self, package_dir: str, package: PackageJson | None) -> str:
        """`main` with the CommonJS extensions and index files tried, then the package's own index."""
        candidates: list[str] = []
        if package is not None and package.main:
            main = posixpath.normpath(posixpath.join(package_dir, package.main))
            candidates += [main, *(main + e for e in REQUIRE_EXTENSIONS),
                           *(posixpath.join(main, "index") + e for e in REQUIRE_EXTENSIONS)]
        candidates += [posixpath.join(package_dir, "index") + e for e in REQUIRE_EXTENSIONS]
        for candidate in candidates:
            if self._is_file(candidate):
                return candidate
        raise NotFound(f"cannot find the main module of {package_dir}")


def node_modules_paths(directory: str) -> list[str]:
    """NODE_MODULES_PATHS: `node_modules` in `directory` and each parent, nearest first, skipping
    directories that are themselves called `node_modules`."""
    parts = directory.strip("/").split("/") if directory.strip("/") else []
    found = []
    for end in range(len(parts), 0, -1):
        if parts[end - 1] != "node_modules":
            found.append("/" + "/".join(parts[:end]) + "/node_modules")
    found.append("/node_modules")
    return found


def file_url_path(specifier: str, parent_dir: str) -> str:
    """The path an ES module specifier (relative URL or `file:` URL) names: query and fragment
    dropped, percent-escapes decoded."""
    text = urlsplit(specifier).path if specifier.startswith("file:") else re.split(r"[?#]", specifier, maxsplit=1)[0]
    return posixpath.normpath(posixpath.join(parent_dir, unquote(text)))
