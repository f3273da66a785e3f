"""What of a package is kept when all of it may be loaded (a `require` whose name is built at run
time): its code, data and package.json, without what only people and other tools read.

Left out: READMEs, changelogs and other Markdown, documentation, tests, examples and benchmarks
directories, TypeScript declarations (`*.d.ts`), source maps (`*.map`), and the files that the
package's `browser` field swaps in for browsers (Node never loads them). Nested `node_modules`
directories are other packages: they are kept only as far as resolution reaches them.
"""

from __future__ import annotations

import posixpath
import re

from slimmer.rootfs.entry import Entry, EntryType
from slimmer.rootfs.fs import RootFS
from slimmer.trace.node.packagejson import PackageJsons

_NOT_RUNTIME_FILE = re.compile(
    r"(?i)^(readme|changelog|changes|history|authors|contributing|code_of_conduct|security)([.-].*)?$"
    r"|\.(md|markdown|mkd|d\.ts|d\.mts|d\.cts|map|tsbuildinfo)$")
_NOT_RUNTIME_DIRECTORY = frozenset({
    "node_modules", "test", "tests", "__tests__", "spec", "specs", "doc", "docs", "example", "examples",
    "benchmark", "benchmarks", "bench", ".github", "coverage",
})
CODE_SUFFIXES = (".js", ".cjs", ".mjs")


def package_files(fs: RootFS, packages: PackageJsons, root: str) -> list[Entry]:
    """The entries of the package in `root` a program may load at run time."""
    browser_only = _browser_replacements(packages, root)
    kept = []
    for entry in fs.walk(root):
        relative = entry.path[len(root.rstrip("/")) + 1:]
        parts = relative.split("/")
        if any(part in _NOT_RUNTIME_DIRECTORY for part in parts[:-1]) or entry.path in browser_only:
            continue
        if entry.type is EntryType.DIR:
            continue
        if parts[-1] in _NOT_RUNTIME_DIRECTORY and entry.type is EntryType.SYMLINK:
            continue
        if not is_runtime_file(parts[-1]):
            continue
        kept.append(entry)
    return kept


def is_runtime_file(name: str) -> bool:
    """Whether a file of this name may be loaded by a program (not a README, a map, a declaration)."""
    return not _NOT_RUNTIME_FILE.search(name)


def _browser_replacements(packages: PackageJsons, root: str) -> set[str]:
    """Files named as the browser versions by the `browser` field (`"browser": "dist/x.browser.js"`
    or `{"./lib/node.js": "./lib/browser.js"}`): its values, unless also the main or a key."""
    package = packages.in_directory(root)
    if package is None:
        return set()
    browser = package.browser
    if isinstance(browser, str):
        values, keys = [browser], []
    elif isinstance(browser, dict):
        values, keys = [v for v in browser.values() if isinstance(v, str)], list(browser)
    else:
        return set()

    def path(name: str) -> str:
        return posixpath.normpath(posixpath.join(root, name))

    node_side = {path(name) for name in keys + [package.main or "index.js"]}
    return {path(v) for v in values} - node_side


def package_root(packages: PackageJsons, directory: str) -> str:
    """The package a directory belongs to: its package scope, else the directory itself."""
    scope = packages.scope(directory)
    return scope.directory if scope is not None else directory
