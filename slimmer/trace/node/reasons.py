"""The sentences that say why a file is kept for Node (`slim why`, the report), and the warnings."""

from __future__ import annotations

from slimmer.trace.node.dependencies import Dependency, DependencyKind
from slimmer.trace.node.evaluate import StaticString

_VERBS = {
    DependencyKind.REQUIRE: "required by",
    DependencyKind.IMPORT: "imported by",
    DependencyKind.DYNAMIC_IMPORT: "imported dynamically by",
    DependencyKind.REQUIRE_RESOLVE: "resolved by require.resolve in",
    DependencyKind.IMPORT_RESOLVE: "resolved by import.meta.resolve in",
    DependencyKind.WORKER: "worker thread started by",
    DependencyKind.FORK: "forked by child_process in",
    DependencyKind.SPAWN: "run by child_process in",
    DependencyKind.SHELL: "run by child_process through /bin/sh in",
    DependencyKind.FILE: "path named in",
}


def where(path: str, line: int) -> str:
    return f"{path}:{line}"


def dependency_reason(dependency: Dependency, path: str) -> str:
    """`required by /app/server.js:7`, `run by child_process in /app/cli.js:40`."""
    return f"{_VERBS[dependency.kind]} {where(path, dependency.line)}"


def shown(value: StaticString) -> str:
    """A partly known string as the code builds it: `./locale/${...}.js`."""
    return "".join("${...}" if part is None else part for part in value.parts)


def package_json_reason(module: str) -> str:
    return f"package.json of the package scope of {module} (Node reads its \"type\", \"exports\", \"main\")"


def whole_package_reason(root: str, dependency: Dependency, path: str) -> str:
    return (f"in package {root}, kept whole: {dependency.kind.value} of a name built at run time "
            f"({shown(dependency.value)}) at {where(path, dependency.line)}")


def pattern_reason(dependency: Dependency, path: str) -> str:
    return f"matches {shown(dependency.value)}, {dependency.kind.value} at {where(path, dependency.line)}"


def dynamic_warning(dependency: Dependency, kept: str) -> str:
    return (f"line {dependency.line}: {dependency.kind.value} of a name built at run time "
            f"({shown(dependency.value)}): {kept}")
