"""Shells as programs: `sh -c CODE`, `bash SCRIPT ARGS`, `busybox sh ...`.

The command line is read by the one shell command-line parser (slimmer.trace.shell.invocation)
wherever the shell is started: ENTRYPOINT, `#!` line, a wrapper, a script. `-c` code is
analysed at once; a script file is needed with the shell's role and its arguments, and read by
the script tracer when the closure reaches it. The dialect follows the program really run:
`sh` is dash on Debian, but busybox's ash when it is a link to busybox.
"""

from __future__ import annotations

import posixpath

from slimmer.trace.argv import is_dynamic
from slimmer.trace.closure import Need
from slimmer.trace.commands import CommandResolver
from slimmer.trace.shell import SHELL_PROGRAMS, ShellDialect, parse_shell_args, program_dialect
from slimmer.trace.shellcode import ShellCode, shell_role


def run_shell(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """A shell program, by the name it is called by and the file it really is."""
    program = resolver.find(argv[0], cwd)
    real = posixpath.basename(resolver.real_path(program, cwd)) if program else ""
    dialect = program_dialect(posixpath.basename(argv[0]), real) or ShellDialect.BASH
    return shell_command_line(resolver, argv, dialect, reason, cwd)


def shell_command_line(resolver: CommandResolver, argv: list[str], dialect: ShellDialect, reason: str,
                       cwd: str) -> list[Need]:
    """The shell's options, then `-c CODE [NAME ARGS...]`, `SCRIPT [ARGS...]` or standard input."""
    shell = posixpath.basename(argv[0])
    invocation = parse_shell_args(argv[1:])
    if invocation.code is not None:
        if is_dynamic(invocation.code):
            resolver.warn(f"{shell} -c of a string built at run time (analysed with its known parts): "
                          f"{invocation.code} ({reason})")
        argv0 = invocation.args or (shell,)  # `sh -c CODE NAME ARGS...`: NAME is $0, ARGS are $1...
        return ShellCode(resolver, dialect, cwd).needs(invocation.code, f"{shell} -c in {reason}",
                                                       resolver.requester, [argv0])
    if invocation.script is None:
        return []  # it reads its standard input: a here-document is the script analysis's
    if is_dynamic(invocation.script):
        resolver.warn(f"script given to {shell} built at run time: {invocation.script} ({reason})")
        return []
    script = posixpath.normpath(posixpath.join(cwd, invocation.script))
    return [Need(script, f"script run by {shell} ({reason})", role=shell_role(dialect), args=invocation.args)]


def busybox_applet(resolver: CommandResolver, argv: list[str], reason: str, cwd: str) -> list[Need]:
    """`busybox APPLET ARGS`: the applet runs inside busybox, as the program of that name would
    (its shells are ash). Applets called through their own names (`/bin/ls -> busybox`) reach
    here too: they are done."""
    if posixpath.basename(argv[0]) != "busybox" or len(argv) < 2:
        return []
    applet = argv[1]
    why = f"busybox {applet} ({reason})"
    if applet in SHELL_PROGRAMS:
        return shell_command_line(resolver, argv[1:], ShellDialect.BUSYBOX, why, cwd)
    handler = resolver.handlers.get(applet)
    return handler(resolver, argv[1:], why, cwd) if handler is not None else []
