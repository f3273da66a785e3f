"""The one table of programs that run programs (slimmer.trace.programs), in every position.

Each wrapper, shell and command runner must be understood the same way when it is the image's
ENTRYPOINT (exec form) and when a shell script runs it: both go through the one command
resolver. Programs are stand-ins (executable non-ELF files) in a synthetic image; what is
checked is which files the closure keeps and why.
"""

from __future__ import annotations

import shlex

import pytest

from slimmer.trace.programs import PROGRAMS
from slimmer.trace.programs.wrappers import Wrapper
from slimmer.trace.roots import run_spec
from slimmer.trace.session import TraceResult, trace_image
from slimmer.trace.shell import parse_shell_args

from imagefactory import File, Symlink, make_layer, merged_rootfs

BIN = File(b"\0stand-in program\0", mode=0o755)
WRAPPERS = sorted(name for name, handler in PROGRAMS.items() if isinstance(handler, Wrapper))
IMAGE = [
    ("usr/bin/dash", BIN), ("bin", Symlink("usr/bin")), ("usr/bin/sh", Symlink("dash")), ("usr/bin/bash", BIN),
    ("usr/bin/tool", BIN), ("usr/bin/other", BIN), ("usr/bin/unused", BIN), ("usr/bin/echo", BIN),
    ("usr/bin/find", BIN), ("usr/bin/which", BIN), ("usr/bin/start-stop-daemon", BIN),
    ("usr/sbin/daemon", BIN), ("usr/bin/busybox", BIN), ("usr/bin/run-parts", BIN),
    *((f"usr/bin/{name}", BIN) for name in WRAPPERS),
    ("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", b"root:x:0:\n"),
    ("hooks/10-first.sh", File(b"#!/bin/sh\nother\n", mode=0o755)), ("hooks/README", b"not a hook\n"),
    ("etc/cron.daily/logrotate", File(b"#!/bin/sh\ntool \"$1\"\n", mode=0o755)),
    ("etc/cron.daily/backup.dpkg-old", File(b"#!/bin/sh\nunused\n", mode=0o755)),
    ("etc/cron.daily/disabled", File(b"#!/bin/sh\nunused\n", mode=0o644)),
    ("tmp/", None),
]

# One command line per wrapper of the table, running `tool` (the test below checks the list is whole).
WRAPPED = {
    "env": "env -i PATH=/usr/bin FOO=1 tool a",
    "nohup": "nohup tool",
    "nice": "nice -n 5 tool",
    "timeout": "timeout -s KILL -k 5 10s tool",
    "stdbuf": "stdbuf -oL -e 0 tool",
    "setsid": "setsid -f tool",
    "xargs": "xargs -0 -n1 -I{} tool {}",
    "time": "time -f %e -o /tmp/out tool",
    "tini": "tini -p SIGTERM -- tool",
    "dumb-init": "dumb-init --rewrite 15:2 tool",
    "gosu": "gosu postgres tool",
    "su-exec": "su-exec redis:redis tool",
    "s6-setuidgid": "s6-setuidgid app tool",
    "chroot": "chroot --userspec=1:1 / tool",
    "sudo": "sudo -u bob -E tool",
    "doas": "doas -u bob tool",
    "setpriv": "setpriv --reuid 1000 --regid=1000 --clear-groups tool",
    "chpst": "chpst -u app tool",
    "ionice": "ionice -c3 tool",
    "taskset": "taskset -c 0-3 tool",
    "chrt": "chrt -f 10 tool",
    "strace": "strace -f -o /tmp/trace tool",
    "ltrace": "ltrace -o /tmp/trace tool",
    "flock": "flock -x /tmp -c 'tool a'",
    "su": "su postgres -c 'tool a'",
    "runuser": "runuser -u app -- tool",
}


def trace(tmp_path, entrypoint: list[str], extra=(), **config) -> TraceResult:
    tmp_path.mkdir(parents=True, exist_ok=True)
    fs = merged_rootfs(tmp_path, make_layer(IMAGE + list(extra), parents=True)).rootfs
    return trace_image(fs, run_spec({"config": {"Entrypoint": entrypoint, "Env": ["PATH=/usr/bin:/bin"], **config}}))


def script(line: str) -> tuple[list[str], list]:
    """An entrypoint script that runs `line`."""
    return ["/entrypoint.sh"], [("entrypoint.sh", File(f"#!/bin/sh\nset -e\n{line}\n".encode(), mode=0o755))]


POSITIONS = {
    "entrypoint": lambda line: (shlex.split(line), []),
    "script": script,
}


def test_every_wrapper_of_the_table_has_a_case():
    assert sorted(WRAPPED) == WRAPPERS


@pytest.mark.parametrize("position", sorted(POSITIONS))
@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_wrappers_run_their_command_in_both_positions(tmp_path, wrapper, position):
    entrypoint, extra = POSITIONS[position](WRAPPED[wrapper])
    keep = trace(tmp_path, entrypoint, extra).keep
    assert f"/usr/bin/{wrapper}" in keep
    assert "/usr/bin/tool" in keep, keep.warnings
    assert "/usr/bin/unused" not in keep
    assert f"{wrapper}" in keep.reasons["/usr/bin/tool"].text
    assert keep.warnings == []


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_wrappers_that_run_nothing_or_echo(tmp_path, position):
    for line, kept, dropped in [("su postgres", [], ["/usr/bin/tool"]), ("xargs -r", ["/usr/bin/echo"], []),
                                ("taskset -p 1 42", [], ["/usr/bin/tool"]), ("env", [], ["/usr/bin/tool"])]:
        entrypoint, extra = POSITIONS[position](line)
        keep = trace(tmp_path / line.replace(" ", "_"), entrypoint, extra).keep
        assert all(p in keep for p in kept) and not any(p in keep for p in dropped), line


def test_a_wrapped_command_name_built_at_run_time_is_a_warning(tmp_path):
    entrypoint, extra = script('nice $NICEOPTS tool\ngosu app "$BIN"')
    warnings = [w.message for w in trace(tmp_path, entrypoint, extra).keep.warnings]
    assert warnings == [
        "cannot tell which argument of nice is the command: $NICEOPTS (run at line 3 of /entrypoint.sh)",
        'command name built at run time: "$BIN" (run by gosu (run at line 4 of /entrypoint.sh))']


# -- shells: one command-line parser ------------------------------------------------------------

@pytest.mark.parametrize("args, code, script, rest, stdin", [
    (["-c", "tool"], "tool", None, (), False),
    (["-ec", "tool", "name", "a"], "tool", None, ("name", "a"), False),
    (["-eo", "pipefail", "/app/run.sh", "x"], None, "/app/run.sh", ("x",), False),
    (["-euxo", "pipefail", "/app/run.sh"], None, "/app/run.sh", (), False),
    (["-o", "errexit", "-o", "nounset", "-c", "tool"], "tool", None, (), False),
    (["+e", "/app/run.sh"], None, "/app/run.sh", (), False),
    (["+o", "posix", "-x", "--", "/app/run.sh", "-v"], None, "/app/run.sh", ("-v",), False),
    (["--rcfile", "/etc/rc", "-i", "/app/run.sh"], None, "/app/run.sh", (), False),
    (["-c", "-e", "tool"], "tool", None, (), False),
    (["-s", "a", "b"], None, None, ("a", "b"), True),
    (["-e"], None, None, (), True),
])
def test_one_shell_command_line_parser(args, code, script, rest, stdin):
    invocation = parse_shell_args(args)
    assert (invocation.code, invocation.script, invocation.args, invocation.reads_stdin) == (code, script, rest, stdin)


RUN_SH = ("app/run.sh", File(b"#!/bin/bash\ntool \"$@\"\n", mode=0o755))


@pytest.mark.parametrize("options", [["-eo", "pipefail"], ["-euxo", "pipefail"], ["+e"], ["-e", "-o", "pipefail"],
                                     ["--norc", "-e"]])
@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_shell_options_before_a_script_in_both_positions(tmp_path, options, position):
    line = shlex.join(["bash", *options, "/app/run.sh", "arg"])
    entrypoint, extra = POSITIONS[position](line)
    result = trace(tmp_path, entrypoint, [*extra, RUN_SH])
    assert result.ctx.roles["/app/run.sh"] == "shell:bash"
    assert result.ctx.invocations["/app/run.sh"] == [("arg",)]
    assert {"/usr/bin/bash", "/app/run.sh", "/usr/bin/tool"} <= set(result.keep.reasons)
    assert result.keep.warnings == []


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_shell_c_code_in_both_positions(tmp_path, position):
    entrypoint, extra = POSITIONS[position]("sh -ec 'tool; exec other \"$0\"' /usr/bin/unused")
    keep = trace(tmp_path, entrypoint, extra).keep
    assert {"/usr/bin/dash", "/usr/bin/tool", "/usr/bin/other", "/usr/bin/unused"} <= set(keep.reasons)
    assert keep.reasons["/usr/bin/other"].text.startswith("exec at line 1 of sh -c in ")


def test_sh_c_code_built_at_run_time_is_read_for_its_known_parts(tmp_path):
    entrypoint, extra = script('sh -c "exec tool --port $PORT"\nsh -c "$CMD"')
    keep = trace(tmp_path, entrypoint, extra).keep
    assert "/usr/bin/tool" in keep
    assert [w.message for w in keep.warnings] == [
        'sh -c of a string built at run time (analysed with its known parts): "exec tool --port $PORT" '
        '(run at line 3 of /entrypoint.sh)',
        'sh -c of a string built at run time (analysed with its known parts): "$CMD" (run at line 4 of /entrypoint.sh)',
        'sh -c in run at line 4 of /entrypoint.sh, line 1: command name built at run time: $CMD']


# -- programs given commands otherwise ----------------------------------------------------------

@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_find_exec_start_stop_daemon_which_and_busybox_in_both_positions(tmp_path, position):
    for line, needed in [
        ("find /hooks -type f -name '*.sh' -exec {} ;", ["/usr/bin/find", "/hooks/10-first.sh", "/usr/bin/other"]),
        ("find /hooks -exec tool {} +", ["/usr/bin/tool", "/hooks/10-first.sh", "/hooks/README"]),
        ("start-stop-daemon --start --exec /usr/sbin/daemon -- -f", ["/usr/sbin/daemon"]),
        ("which tool", ["/usr/bin/which", "/usr/bin/tool"]),
        ("busybox sh -c tool", ["/usr/bin/busybox", "/usr/bin/tool"]),
        ("busybox env tool", ["/usr/bin/tool"]),
        ("run-parts --arg=daily /etc/cron.daily", ["/usr/bin/run-parts", "/etc/cron.daily/logrotate", "/usr/bin/tool"]),
    ]:
        entrypoint, extra = POSITIONS[position](line)
        keep = trace(tmp_path / str(abs(hash(line))), entrypoint, extra).keep
        assert all(p in keep for p in needed), (line, keep.warnings)
        assert "/usr/bin/unused" not in keep


def test_run_parts_runs_the_executables_its_name_rules_accept(tmp_path):
    result = trace(tmp_path, ["run-parts", "-a", "daily", "/etc/cron.daily"])
    assert result.ctx.invocations["/etc/cron.daily/logrotate"] == [("daily",)]
    assert "/usr/bin/unused" not in result.keep  # a .dpkg-old name, and a file not executable
    assert "/etc/cron.daily/disabled" in result.keep  # still, it is in the directory it lists


def test_start_stop_daemon_stop_runs_nothing(tmp_path):
    keep = trace(tmp_path, ["start-stop-daemon", "--stop", "--exec", "/usr/sbin/daemon"]).keep
    # it finds the daemon's processes by the file: kept as an argument, not run
    assert keep.reasons["/usr/sbin/daemon"].text == "argument 3 of start-stop-daemon (ENTRYPOINT/CMD)"


# -- a script's arguments travel with its Need --------------------------------------------------

def test_a_script_run_in_two_ways_is_traced_with_both_argument_lists(tmp_path):
    """The entrypoint runs it with CMD, the health check with other arguments: `exec "$@"` runs
    both (a first-writer-wins record of arguments kept only the first)."""
    extra = [("entrypoint.sh", File(b'#!/bin/sh\nexec "$@"\n', mode=0o755))]
    result = trace(tmp_path, ["/entrypoint.sh"], extra, Cmd=["tool"],
                   Healthcheck={"Test": ["CMD", "/entrypoint.sh", "other", "--ping"]})
    assert {"/usr/bin/tool", "/usr/bin/other"} <= set(result.keep.reasons)
    assert result.ctx.invocations["/entrypoint.sh"] == [("tool",), ("other", "--ping")]
    assert result.keep.warnings == []


def test_a_script_run_without_known_arguments_warns_instead_of_assuming_none(tmp_path):
    extra = [("usr/bin/hook.sh", File(b'#!/bin/sh\nexec "$@"\n', mode=0o755))]
    keep = trace(tmp_path, ["which", "hook.sh"], extra).keep  # looked up to be run, how is not told
    assert "/usr/bin/hook.sh" in keep
    assert [w.message for w in keep.warnings] == [
        '/usr/bin/hook.sh, line 2: command name built at run time: "$@"']


def test_a_script_that_is_a_file_argument_is_read_not_run(tmp_path):
    extra = [("entrypoint.sh", File(b'#!/bin/sh\nexec "$@"\n', mode=0o755))]
    keep = trace(tmp_path, ["/usr/bin/tool", "/entrypoint.sh"], extra).keep
    assert keep.reasons["/entrypoint.sh"].text == "argument 1 of tool (ENTRYPOINT/CMD)"
    assert keep.warnings == []
