"""Data about shells and command wrappers, kept apart from the analyser's logic.

Builtins decide what is *not* an external program: a name the shell runs itself
needs no file in the image.  The sets are per shell because they differ
(`source`, `declare`, `let` are bash/ash only; dash has none of them).
They were taken from `compgen -b` (bash 5.2), `type NAME` under dash 0.5.12
and busybox's ash.c builtin table (1.36, default config).
"""

from __future__ import annotations

from dataclasses import dataclass

BASH_BUILTINS: frozenset[str] = frozenset(
    """
    . : [ alias bg bind break builtin caller cd command compgen complete compopt
    continue declare dirs disown echo enable eval exec exit export false fc fg
    getopts hash help history jobs kill let local logout mapfile popd printf pushd
    pwd read readarray readonly return set shift shopt source suspend test times
    trap true type typeset ulimit umask unalias unset wait
    """.split()
)

DASH_BUILTINS: frozenset[str] = frozenset(
    """
    . : [ alias bg break cd chdir command continue echo eval exec exit export
    false fg getopts hash jobs kill local printf pwd read readonly return set
    shift test times trap true type ulimit umask unalias unset wait
    """.split()
)

BUSYBOX_ASH_BUILTINS: frozenset[str] = frozenset(
    """
    . : [ [[ alias bg break cd chdir command continue echo eval exec exit export
    false fg getopts hash help history jobs kill let local printf pwd read
    readonly return set shift source test times trap true type ulimit umask
    unalias unset wait
    """.split()
)

# Reserved words.  tree-sitter turns most into syntax, but after a parse error
# they can show up where a command name stands; they are never programs.
KEYWORDS: frozenset[str] = frozenset(
    "if then else elif fi case esac for select while until do done in function "
    "time { } ! [[ ]] coproc ;; ( )".split()
)

BUILTINS: dict[str, frozenset[str]] = {
    "bash": BASH_BUILTINS,
    "dash": DASH_BUILTINS,
    "busybox": BUSYBOX_ASH_BUILTINS,
}

# Names a caller may pass as `shell`, mapped to the builtin set that applies.
# `sh` is dash because that is /bin/sh on Debian-based images; busybox images
# should pass "busybox".
SHELL_ALIASES: dict[str, str] = {
    "bash": "bash",
    "rbash": "bash",
    "sh": "dash",
    "dash": "dash",
    "posix": "dash",
    "ash": "busybox",
    "busybox": "busybox",
}

# Programs that interpret shell code given with -c or in a file argument.
SHELLS: frozenset[str] = frozenset(
    "sh bash dash ash ksh mksh pdksh zsh rbash yash posh".split()
)


@dataclass(frozen=True)
class Wrapper:
    """How an external program that runs another program lays out its arguments.

    Options in `arg_opts` consume the next argument (or an attached value, as
    in `-n5` or `--signal=KILL`); `positional` arguments (a user, a duration, a
    new root) come between the options and the command.  `c_opts` take a shell
    string (`su -c 'cmd'`, `flock -c 'cmd'`).  `stop_opts` mean no command
    follows (`taskset -p PID`).  `default` is what runs when no command is
    given (xargs runs echo).  `needs_opt`: the command is there only with
    one of these options (`runuser -u USER CMD`, else a login shell).
    `assignments`: NAME=VALUE words may come before the command (env, sudo).
    """

    arg_opts: frozenset[str] = frozenset()
    positional: int = 0
    assignments: bool = False
    c_opts: frozenset[str] = frozenset()
    stop_opts: frozenset[str] = frozenset()
    default: tuple[str, ...] = ()
    needs_opt: frozenset[str] = frozenset()


def _w(
    arg_opts: str = "",
    positional: int = 0,
    assignments: bool = False,
    c_opts: str = "",
    stop_opts: str = "",
    default: tuple[str, ...] = (),
    needs_opt: str = "",
) -> Wrapper:
    """Build a Wrapper from space-separated option lists, to keep the table short."""
    return Wrapper(
        arg_opts=frozenset(arg_opts.split()),
        positional=positional,
        assignments=assignments,
        c_opts=frozenset(c_opts.split()),
        stop_opts=frozenset(stop_opts.split()),
        default=default,
        needs_opt=frozenset(needs_opt.split()),
    )


WRAPPERS: dict[str, Wrapper] = {
    "env": _w("-u --unset -C --chdir -S --split-string", assignments=True),
    "nohup": _w(),
    "nice": _w("-n --adjustment"),
    "timeout": _w("-s --signal -k --kill-after", positional=1),
    "stdbuf": _w("-i -o -e --input --output --error"),
    "setsid": _w(),
    "xargs": _w(
        "-a --arg-file -d --delimiter -E -I -L -n --max-args -P --max-procs "
        "-s --max-chars --process-slot-var",
        default=("echo",),
    ),
    "time": _w("-f --format -o --output"),
    "gosu": _w(positional=1),
    "su-exec": _w(positional=1),
    "chroot": _w("--userspec --groups", positional=1),
    "sudo": _w("-u --user -g --group -C --close-from -D --chdir -h --host -p --prompt "
               "-r --role -t --type -U --other-user -T --command-timeout -R --chroot",
               assignments=True),
    "doas": _w("-u -C"),
    "tini": _w("-p -e"),
    "dumb-init": _w("-r --rewrite"),
    "ionice": _w("-c --class -n --classdata", stop_opts="-p --pid -P --pgid -u --uid"),
    "taskset": _w(positional=1, stop_opts="-p --pid"),
    "chrt": _w("-T --sched-runtime -P --sched-period -D --sched-deadline",
               positional=1, stop_opts="-p --pid"),
    "flock": _w("-w --timeout -E --conflict-exit-code", positional=1, c_opts="-c --command"),
    "setpriv": _w("--reuid --regid --groups --inh-caps --ambient-caps --bounding-set "
                  "--securebits --selinux-label --apparmor-profile --pdeathsig"),
    "chpst": _w("-u -U -b -e -/ -C -n -l -L -m -d -o -p -f -c -r -t"),
    "s6-setuidgid": _w(positional=1),
    "runuser": _w("-u --user -g --group -G --supp-group -s --shell -w --whitelist-environment",
                  c_opts="-c --command", needs_opt="-u --user"),
    "strace": _w("-e -o -s -u -E -a -b -I -O -S -P -X --output --string-limit --user --env",
                 stop_opts="-p --attach"),
    "ltrace": _w("-e -o -s -u -a -n -l -x -L -w -D -F --output --library", stop_opts="-p"),
    "su": _w("-g --group -G --supp-group -s --shell -w --whitelist-environment",
             c_opts="-c --command", needs_opt="-c --command"),
}
