"""Programs that run other programs: one table, used wherever a command line is run.

The command resolver (slimmer.trace.commands) looks a program's handler up here by name,
whether the command line is an ENTRYPOINT, a `#!` line, a wrapper's command or a line of a
shell script, so each program is understood the same way in every position. Interpreters
(Python, Node.js, Perl) add their handlers to the same table in slimmer.trace.session.
"""

from __future__ import annotations

from slimmer.trace.commands import ArgvHandler
from slimmer.trace.programs.dispatchers import DISPATCHERS
from slimmer.trace.programs.grammar import grammar
from slimmer.trace.programs.loaders import LOADERS
from slimmer.trace.programs.shells import busybox_applet, run_shell
from slimmer.trace.programs.wrappers import Wrapper, find_command, run_parts, start_stop_daemon, which
from slimmer.trace.shell import SHELL_PROGRAMS

PROGRAMS: dict[str, ArgvHandler] = {
    # wrappers: their own options and positional words, then the command line they run
    "env": Wrapper(grammar("-u --unset -C --chdir", assignments=True, split="-S --split-string")),
    "nohup": Wrapper(grammar()),
    "nice": Wrapper(grammar("-n --adjustment")),
    "timeout": Wrapper(grammar("-s --signal -k --kill-after", positional=1)),
    "stdbuf": Wrapper(grammar("-i -o -e --input --output --error")),
    "setsid": Wrapper(grammar()),
    "xargs": Wrapper(grammar("-a --arg-file -d --delimiter -E -I -L -n --max-args -P --max-procs "
                             "-s --max-chars --process-slot-var", default=("echo",))),
    "time": Wrapper(grammar("-f --format -o --output")),
    "tini": Wrapper(grammar("-p -e")),
    "dumb-init": Wrapper(grammar("-r --rewrite")),
    "gosu": Wrapper(grammar(positional=1)),
    "su-exec": Wrapper(grammar(positional=1)),
    "s6-setuidgid": Wrapper(grammar(positional=1)),
    "chroot": Wrapper(grammar("--userspec --groups", positional=1)),
    "sudo": Wrapper(grammar("-u --user -g --group -C --close-from -D --chdir -h --host -p --prompt "
                            "-r --role -t --type -U --other-user -T --command-timeout -R --chroot",
                            assignments=True)),
    "doas": Wrapper(grammar("-u -C")),
    "setpriv": Wrapper(grammar("--reuid --regid --groups --inh-caps --ambient-caps --bounding-set "
                               "--securebits --selinux-label --apparmor-profile --pdeathsig")),
    "chpst": Wrapper(grammar("-u -U -b -e -/ -C -n -l -L -m -d -o -p -f -c -r -t")),
    "ionice": Wrapper(grammar("-c --class -n --classdata", stop="-p --pid -P --pgid -u --uid")),
    "taskset": Wrapper(grammar(positional=1, stop="-p --pid")),
    "chrt": Wrapper(grammar("-T --sched-runtime -P --sched-period -D --sched-deadline", positional=1,
                            stop="-p --pid")),
    "strace": Wrapper(grammar("-e -o -s -u -E -a -b -I -O -S -P -X --output --string-limit --user --env",
                              stop="-p --attach")),
    "ltrace": Wrapper(grammar("-e -o -s -u -a -n -l -x -L -w -D -F --output --library", stop="-p")),
    # ... or shell code given to an option (run as `/bin/sh -c CODE`)
    "flock": Wrapper(grammar("-w --timeout -E --conflict-exit-code", positional=1, code="-c --command")),
    "su": Wrapper(grammar("-g --group -G --supp-group -s --shell -w --whitelist-environment",
                          code="-c --command", needs="-c --command")),
    "runuser": Wrapper(grammar("-u --user -g --group -G --supp-group -s --shell -w --whitelist-environment",
                               code="-c --command", needs="-u --user")),
    # shells: -c code, a script file, or their standard input
    **dict.fromkeys(SHELL_PROGRAMS, run_shell),
    "busybox": busybox_applet,
    # programs given commands otherwise
    "find": find_command,
    "start-stop-daemon": start_stop_daemon,
    "run-parts": run_parts,
    "which": which,
    **DISPATCHERS,  # called by the name of the program they run, from a directory chosen at run time
    # programs that load the ELF file they are given (the dynamic loader, ldd)
    **LOADERS,
}
