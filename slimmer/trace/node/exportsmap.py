"""package.json `exports` and `imports` maps, resolved as Node's ESM resolver does.

This is PACKAGE_EXPORTS_RESOLVE, PACKAGE_IMPORTS_RESOLVE and PACKAGE_TARGET_RESOLVE of Node's
documented algorithm (doc/api/esm.md), which `require` uses too. One thing is added: a condition
the runtime may or may not set (`module-sync`, on since Node 22.12 and 20.19) is *possible*:
its branch is taken and the search also goes on, so every file the runtime could pick is found.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from slimmer.trace.node.packagejson import JSON


class PackageMapError(Exception):
    """The map does not export (or import) the subpath: Node throws for it."""


@dataclass(frozen=True)
class Conditions:
    """The condition names a resolution matches (`default` always matches)."""

    active: frozenset[str]  # set by the runtime for this kind of load ("node", "require" or "import", --conditions)
    possible: frozenset[str] = frozenset()  # set by some runtime versions only


@dataclass(frozen=True)
class Target:
    """What a map entry leads to: a file path in the package, or (imports only) a package specifier."""

    path: str | None = None
    package_specifier: str | None = None


Resolved = list[Target] | None  # None: no entry matched ("undefined"); []: excluded by a null entry


def resolve_exports(package_dir: str, subpath: str, exports: JSON, conditions: Conditions) -> list[Target]:
    """Where `exports` maps `subpath` ("." or "./x"); PackageMapError when it does not export it."""
    if _is_main_sugar(exports):
        exports = {".": exports}
    if not isinstance(exports, dict):
        raise PackageMapError(f"invalid \"exports\" in {package_dir}/package.json")
    found = _match(package_dir, subpath, exports, conditions, imports=False)
    if not found:
        raise PackageMapError(f"subpath {subpath!r} is not defined by \"exports\" in {package_dir}/package.json")
    return found


def resolve_imports(package_dir: str, name: str, imports: JSON, conditions: Conditions) -> list[Target]:
    """Where the package's `imports` map sends `#name`."""
    if name == "#" or name.startswith("#/") or name.endswith("/"):
        raise PackageMapError(f"invalid import specifier {name!r}")
    found = _match(package_dir, name, imports, conditions, imports=True) if isinstance(imports, dict) else None
    if not found:
        raise PackageMapError(f"{name!r} is not defined by \"imports\" in {package_dir}/package.json")
    return found


def _is_main_sugar(exports: JSON) -> bool:
    """A string, an array or a conditions object stands for `{".": exports}`."""
    if isinstance(exports, (str, list)):
        return True
    if not isinstance(exports, dict):
        return False
    dotted = {key.startswith(".") for key in exports}
    return dotted == {False}


def _match(package_dir: str, key: str, mapping: dict[str, JSON], conditions: Conditions, imports: bool) -> Resolved:
    """An exact key first, then the most specific `*` pattern key."""
    if key in mapping and "*" not in key and not key.endswith("/"):
        return _target(package_dir, mapping[key], None, imports, conditions)
    best_key, best_match = "", ""
    for candidate in mapping:
        star = candidate.find("*")
        if star < 0 or candidate.rfind("*") != star or not key.startswith(candidate[:star]):
            continue
        trailer = candidate[star + 1:]
        if len(key) >= len(candidate) and key.endswith(trailer) and _pattern_key_compare(best_key, candidate) == 1:
            best_key, best_match = candidate, key[star:len(key) - len(trailer)]
    if not best_key:
        return None
    return _target(package_dir, mapping[best_key], best_match, imports, conditions)


def _pattern_key_compare(a: str, b: str) -> int:
    """Node's PATTERN_KEY_COMPARE: 1 when `b` is the more specific key."""
    a_star, b_star = a.find("*"), b.find("*")
    base_a = len(a) if a_star < 0 else a_star + 1
    base_b = len(b) if b_star < 0 else b_star + 1
    if base_a != base_b:
        return -1 if base_a > base_b else 1
    if a_star < 0:
        return 1
    if b_star < 0:
        return -1
    if len(a) != len(b):
        return -1 if len(a) > len(b) else 1
    return 0


def _target(package_dir: str, target: JSON, match: str | None, imports: bool, conditions: Conditions) -> Resolved:
    if isinstance(target, str):
        return [_string_target(package_dir, target, match, imports)]
    if isinstance(target, list):
        last: Resolved = None
        for item in target:
            try:
                found = _target(package_dir, item, match, imports, conditions)
            except PackageMapError:
                continue  # an invalid fallback is skipped
            if found:
                return found
            last = found if found is not None else last
        return last
    if isinstance(target, dict):
        if any(key.isdigit() for key in target):
            raise PackageMapError(f"numeric keys in the conditions of {package_dir}/package.json")
        possible: list[Target] = []
        for condition, value in target.items():
            if condition == "default" or condition in conditions.active:
                found = _target(package_dir, value, match, imports, conditions)
                if found is not None:
                    return possible + found
            elif condition in conditions.possible:
                possible += _target(package_dir, value, match, imports, conditions) or []
        return possible or None
    if target is None:
        return []
    raise PackageMapError(f"invalid target {target!r} in {package_dir}/package.json")


def _string_target(package_dir: str, target: str, match: str | None, imports: bool) -> Target:
    """"./x" is a file of the package; in `imports`, a bare name is another package."""
    expanded = target if match is None else target.replace("*", match)
    if not target.startswith("./"):
        if imports and not target.startswith(("../", "/")) and ":" not in target:
            return Target(package_specifier=expanded)  # a URL (`node:fs` too) is no valid target
        raise PackageMapError(f"invalid target {target!r} in {package_dir}/package.json")
    path = posixpath.normpath(posixpath.join(package_dir, expanded))
    if path != package_dir and not path.startswith(package_dir.rstrip("/") + "/"):
        raise PackageMapError(f"target {target!r} leaves its package {package_dir}")
    return Target(path=path)
