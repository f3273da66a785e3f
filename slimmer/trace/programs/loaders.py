"""Programs that load the ELF file they are given: the dynamic loader run as a program
(`/lib64/ld-linux-x86-64.so.2 [OPTIONS] PROGRAM ARGS`, Debian's `ld.so`) and `ldd FILE...`,
which runs the loader with `--list` on each file. Their operands are loaded, not read: the ELF
tracer follows them (an operand of another program is only read).
"""

from __future__ import annotations

import posixpath

from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.fs import SymlinkLoopError
from slimmer.trace.argv import is_dynamic
from slimmer.trace.closure import Need
from slimmer.trace.commands import ArgvHandler, CommandResolver, split_options
from slimmer.trace.elf.arch import ARCHES
from slimmer.trace.operands import operand_needs
from slimmer.trace.programs.grammar import grammar, wrapped_command

# glibc's and musl's loaders: options with a value, and those after which nothing runs
_LOADER = grammar("--library-path --glibc-hwcaps-prepend --glibc-hwcaps-mask --inhibit-rpath --audit --preload "
                  "--argv0", stop="--help --version --list-tunables --list-diagnostics")
_LIBRARY_OPTIONS = ("--library-path", "--preload", "--audit")


def run_loader(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """`ld.so [OPTIONS] PROGRAM ARGS`: PROGRAM is loaded and run (it need not be executable)."""
    loader = posixpath.basename(argv[0])
    command = wrapped_command(argv[1:], _LOADER)
    if command.unclear is not None or not command.argv:
        if command.unclear is not None:
            resolver.warn(f"cannot tell which argument of {loader} is the program: {command.unclear} ({reason})")
        return []
    options = argv[1:len(argv) - len(command.argv)]
    if any(word.split("=")[0] in _LIBRARY_OPTIONS for word in options):
        resolver.warn(f"{loader}'s own library options are not followed ({reason}): only the image's "
                      "search path is")
    why = f"run by {loader} ({reason})"
    if "/" not in command.argv[0] and not is_dynamic(command.argv[0]):
        # the loader maps a bare name as it would a library: from its search path, not from cwd
        resolver.warn(f"{loader} {command.argv[0]}: a name without a slash is searched as a library ({reason})")
        return []
    program = _loaded(resolver, command.argv[0], cwd, loader, reason)
    if program is None:
        return []
    if resolver.find(program, cwd) is not None:
        return resolver.needs([program, *command.argv[1:]], why, cwd)  # what it is, as if it were run
    return [Need(program, why)] + operand_needs(resolver.ctx.fs, command.argv, why, cwd)


def run_ldd(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """`ldd [OPTIONS] FILE...`: each FILE is loaded by the loader, which lists what it maps."""
    found: list[Need] = []
    for word in split_options(argv[1:])[1]:
        path = _loaded(resolver, word, cwd, "ldd", reason)  # ldd takes a bare name from cwd
        if path is not None:
            found.append(Need(path, f"loaded by ldd ({reason})"))
    return found


def _loaded(resolver: CommandResolver, word: str, cwd: str, loader: str, reason: str) -> str | None:
    """The existing file that `word`, relative to `cwd`, names."""
    if is_dynamic(word):
        resolver.warn(f"{loader} loads a file named at run time: {word} ({reason})")
        return None
    path = posixpath.normpath(posixpath.join(cwd, word))
    try:
        entry = resolver.ctx.fs.lookup(path)
    except SymlinkLoopError as e:
        resolver.warn(f"{e} ({reason})")
        return None
    if entry is None or entry.type is not EntryType.FILE:
        resolver.warn(f"{loader}: {path} is not a file of the image ({reason})")
        return None
    return path


LOADER_NAMES = sorted({posixpath.basename(arch.glibc_interp) for arch in ARCHES.values()}
                      | {posixpath.basename(arch.musl_interp) for arch in ARCHES.values()} | {"ld.so"})
LOADERS: dict[str, ArgvHandler] = {**dict.fromkeys(LOADER_NAMES, run_loader), "ldd": run_ldd}
