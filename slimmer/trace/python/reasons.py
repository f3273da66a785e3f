"""The sentences that say why a Python-related file is kept (shown by `slim why` and the report)."""

from __future__ import annotations


def at(path: str | None, line: int) -> str:
    where = path or "the command line"
    return f"{where}:{line}" if line else where


def imported(path: str | None, line: int) -> str:
    return f"imported by {at(path, line)}"


def package_of(module: str, why: str) -> str:
    return f"package of {module} ({why})"


def bytecode_cache(source: str) -> str:
    return f"bytecode cache the interpreter reads for {source}"


def startup(what: str, interpreter: str) -> str:
    return f"imported at start-up by {interpreter}: {what}"


def dist_info(name: str, owned: str) -> str:
    return f"dist-info of {name} (owns {owned})"


def package_data(package_dir: str) -> str:
    return f"data of package {package_dir}"


def kept_whole(package: str, where: str, what: str) -> str:
    return f"package {package} kept whole: {what} at {where} (use --python-strict to keep only traced modules)"


def named_by_string(where: str) -> str:
    return f"module named by {where} (loaded by string)"


def run_by(function: str, path: str | None, line: int) -> str:
    return f"run by {function} in {at(path, line)}"
