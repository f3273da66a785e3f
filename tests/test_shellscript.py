"""Tests for the static shell script analyser (slimmer.trace.shell)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from slimmer.trace.shell import CommandUse, ShellAnalysis, ShellWarning, analyze_shell

HOST_SCRIPTS = Path(__file__).resolve().parent / "host_scripts"  # copies of a Debian machine's scripts


def uses(text: str, **kw) -> list[tuple[str, str]]:
    """(name, how) pairs, in order."""
    return [(c.name, c.how) for c in analyze_shell(text, **kw).commands]


def names(text: str, **kw) -> list[str]:
    return [c.name for c in analyze_shell(text, **kw).commands]


def warns(text: str, **kw) -> list[tuple[int, str]]:
    return [(w.line, w.message) for w in analyze_shell(text, **kw).warnings]


# -- interface ---------------------------------------------------------------


def test_result_types_and_lines():
    r = analyze_shell("echo hi\nsed -n p f\n\ngrep x y\n")
    assert isinstance(r, ShellAnalysis)
    assert r.commands == (
        CommandUse("sed", 2, "run"),
        CommandUse("grep", 4, "run"),
    )
    assert r.warnings == ()


def test_dataclasses_are_frozen():
    c = CommandUse("sed", 1, "run")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.name = "awk"  # type: ignore[misc]
    w = ShellWarning(1, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.line = 2  # type: ignore[misc]


def test_dedup_by_name_and_how_keeps_first_line():
    r = analyze_shell("sed a\nsed b\nexec sed c\n")
    assert r.commands == (CommandUse("sed", 1, "run"), CommandUse("sed", 3, "exec"))


def test_empty_and_comment_only():
    assert analyze_shell("").commands == ()
    assert analyze_shell("#!/bin/sh\n# nothing\n").commands == ()


# -- simple structure ----------------------------------------------------------


def test_pipelines_and_lists():
    assert names("a | b | c\nd && e || f; g & h\n! i\n") == list("abcdefghi")


def test_command_substitution_everywhere():
    text = (
        'x=$(date +%s)\n'
        'y=`hostname`\n'
        'echo "now $(uname -r) and `whoami`"\n'
        'echo ${z:-$(id -u)}\n'
        'cat <(sort a) > >(tee b)\n'
    )
    assert names(text) == ["date", "hostname", "uname", "whoami", "id", "cat", "sort", "tee"]


def test_nested_substitution():
    # order of appearance in the text, not of execution
    assert names('a="$(basename "$(dirname "$(readlink -f x)")")"') == ["basename", "dirname", "readlink"]


def test_if_elif_else():
    text = "if test -f x; then a; elif grep -q y z; then b; else c; fi\n"
    assert names(text) == ["a", "grep", "b", "c"]


def test_case_with_paren_patterns():
    text = """
case "$1" in
  (start) svc-start ;;
  stop|halt) svc-stop ;;
  *.tar.gz) tar xzf "$1" ;;
  *) usage-helper ;;
esac
"""
    assert names(text) == ["svc-start", "svc-stop", "tar", "usage-helper"]


def test_loops():
    text = """
for f in a b; do proc1 "$f"; done
while read -r line; do proc2; done < file
until ping -c1 db; do sleep 1; done
for ((i=0; i<3; i++)); do proc3; done
select x in a b; do proc4; done
"""
    assert names(text) == ["proc1", "proc2", "ping", "sleep", "proc3", "proc4"]


def test_subshell_and_group():
    assert names("(cd /x && make)\n{ gcc a.c; ld a.o; }\n") == ["make", "gcc", "ld"]


def test_redirect_targets_are_not_commands():
    assert names("foo > /tmp/out 2>&1 < in\nexec >/dev/null 2>&1\nbar >>\"$(mktemp)\"\n") == [
        "foo", "bar", "mktemp"]


def test_heredoc_body_substitutions():
    text = "cat <<EOF | grep x\nhello $(date) `whoami` \\`notrun\\`\nEOF\nafter\n"
    assert uses(text) == [("cat", "run"), ("grep", "run"), ("date", "run"), ("whoami", "run"),
                          ("after", "run")]
    r = analyze_shell(text)
    assert [c.line for c in r.commands] == [1, 1, 2, 2, 4]


def test_quoted_heredoc_is_text():
    assert names("cat <<'EOF'\n$(date) `whoami`\nEOF\n") == ["cat"]


def test_arithmetic_and_double_brackets():
    text = 'n=$(( $(wc -l < f) + 1 ))\n(( i++ ))\n[[ -x $(which foo) && $x == y* ]] && bar\n'
    assert uses(text) == [("wc", "run"), ("which", "run"), ("foo", "lookup"), ("bar", "run")]


# -- builtins ----------------------------------------------------------------


def test_builtins_are_not_commands():
    text = """
echo a; printf '%s' b; test -f x; [ -d y ]; cd /; read v; set -e; export A=1
local l; trap - EXIT; shift; true; false; :; kill -9 1; umask 022; wait; getopts ab o
"""
    assert names(text) == []


def test_builtin_sets_per_shell():
    text = "declare -x A=1\nlet i=1\nsource ./lib.sh\nlocal x\n"
    # declare is a declaration in every tree; let is external in dash
    assert uses(text, shell="bash") == [("./lib.sh", "source")]
    assert uses(text, shell="dash") == [("let", "run"), ("./lib.sh", "source")]
    assert uses(text, shell="sh") == [("let", "run"), ("./lib.sh", "source")]
    assert uses(text, shell="busybox") == [("./lib.sh", "source")]
    assert uses("shopt -s nullglob\nhelp\n", shell="dash") == [("shopt", "run"), ("help", "run")]
    assert uses("shopt -s nullglob\nhelp\n", shell="bash") == []


def test_time_is_a_keyword_in_bash_only():
    assert uses("time make all\n", shell="bash") == [("make", "run")]
    assert uses("time make all\n", shell="dash") == [("time", "run"), ("make", "run")]


def test_unknown_shell_warns_and_assumes_bash():
    r = analyze_shell("let x=1\nfoo\n", shell="zsh-ish")
    assert [c.name for c in r.commands] == ["foo"]
    assert r.warnings == (ShellWarning(1, "unknown shell 'zsh-ish'; assuming bash builtins"),)


# -- functions -----------------------------------------------------------------


def test_functions_are_not_commands_but_bodies_count():
    text = """
helper() { inner-tool "$@"; }
function other { helper x; later; }
other
helper
later() { late-tool; }
"""
    assert names(text) == ["inner-tool", "late-tool"]
    r = analyze_shell(text)
    assert r.functions == ("helper", "other", "later")


def test_uncalled_function_body_still_counts():
    assert names("unused() { rare-tool; }\n") == ["rare-tool"]


def test_recursive_functions_terminate():
    assert names("f() { g; tool-f; }\ng() { f; tool-g; }\nf\n") == ["tool-f", "tool-g"]


def test_functions_from_sourced_files():
    text = ". /lib/lsb/init-functions\nlog_daemon_msg hi\nstart-daemon\n"
    assert names(text) == ["/lib/lsb/init-functions", "log_daemon_msg", "start-daemon"]
    assert names(text, functions=["log_daemon_msg"]) == ["/lib/lsb/init-functions", "start-daemon"]


def test_command_bypasses_functions():
    assert uses("ls() { command ls --color \"$@\"; }\nls /\n") == [("ls", "run")]


# -- sourcing, lookups, exec --------------------------------------------------


def test_source_forms():
    text = ". /etc/default/foo\nsource ./lib.sh arg\n. \"$HOME/.bashrc\"\n"
    r = analyze_shell(text, env={"HOME": "/root"})
    assert [(c.name, c.how, c.line) for c in r.commands] == [
        ("/etc/default/foo", "source", 1),
        ("./lib.sh", "source", 2),
        ("/root/.bashrc", "source", 3),
    ]


def test_dynamic_source_warns():
    assert warns('. "$CONF"\n') == [(1, 'sourced file name built at run time: "$CONF"')]


def test_lookups():
    text = """
command -v curl >/dev/null || apt-get install curl
which wget
type -p jq
hash rsync
command -V echo
type cd
"""
    assert uses(text) == [
        ("curl", "lookup"), ("apt-get", "run"), ("which", "run"), ("wget", "lookup"),
        ("jq", "lookup"), ("rsync", "lookup"),
    ]


def test_exec_forms():
    text = "exec nginx -g 'daemon off;'\nexec -a name /usr/bin/foo\nexec >log\n"
    assert uses(text) == [("nginx", "exec"), ("/usr/bin/foo", "exec")]


def test_exec_of_builtin_name_is_external():
    # exec never runs a builtin: it needs the program on PATH
    assert uses("exec echo hi\n") == [("echo", "exec")]


def test_command_and_builtin_builtins():
    assert uses("command sed x\nbuiltin echo x\nbuiltin command -v gawk\n") == [
        ("sed", "run"), ("gawk", "lookup")]


# -- wrappers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, expected",
    [
        ("env -i PATH=/bin FOO=1 tool a", ["env", "tool"]),
        ("env -u HOME -- tool", ["env", "tool"]),
        ("nohup tool &", ["nohup", "tool"]),
        ("nice -n 5 tool", ["nice", "tool"]),
        ("nice tool", ["nice", "tool"]),
        ("timeout 10 tool", ["timeout", "tool"]),
        ("timeout -s KILL -k 5 10s tool", ["timeout", "tool"]),
        ("timeout --signal=KILL 10 tool", ["timeout", "tool"]),
        ("xargs -0 -n1 -I{} tool {}", ["xargs", "tool"]),
        ("xargs -r", ["xargs", "echo"]),
        ("xargs", ["xargs", "echo"]),
        ("stdbuf -oL -e 0 tool", ["stdbuf", "tool"]),
        ("setsid -f tool", ["setsid", "tool"]),
        ("gosu postgres tool", ["gosu", "tool"]),
        ("su-exec redis:redis tool", ["su-exec", "tool"]),
        ("chroot /target tool", ["chroot", "tool"]),
        ("sudo -u bob -E tool", ["sudo", "tool"]),
        ("tini -- tool", ["tini", "tool"]),
        ("dumb-init tool", ["dumb-init", "tool"]),
        ("ionice -c3 tool", ["ionice", "tool"]),
        ("taskset -c 0-3 tool", ["taskset", "tool"]),
        ("taskset -p 1 42", ["taskset"]),
        ("flock /run/lock tool", ["flock", "tool"]),
        ("flock -x /run/lock -c 'tool a; other'", ["flock", "tool", "other"]),
        ("su postgres -c 'tool'", ["su", "tool"]),
        ("su postgres", ["su"]),
        ("runuser -u app -- tool", ["runuser", "tool"]),
        ("/usr/bin/env tool", ["/usr/bin/env", "tool"]),
        ("env nice -n 1 nohup timeout 5 tool", ["env", "nice", "nohup", "timeout", "tool"]),
        ("env echo hi", ["env", "echo"]),
        ("start-stop-daemon --start --exec /usr/sbin/daemon -- -f", ["start-stop-daemon", "/usr/sbin/daemon"]),
        ("start-stop-daemon --stop --exec /usr/sbin/daemon", ["start-stop-daemon"]),
        ("busybox sh -c 'tool'", ["busybox", "tool"]),
    ],
)
def test_wrappers(line, expected):
    assert names(line + "\n") == expected


def test_wrapper_inner_is_run():
    assert uses("exec gosu app tool\n") == [("gosu", "exec"), ("tool", "run")]


def test_find_exec():
    text = "find . -name '*.pyc' -exec rm -f {} \\; -o -execdir chmod 644 {} + -ok test -e {} ';'\n"
    assert names(text) == ["find", "rm", "chmod", "test"]


def test_time_wrapper_external():
    assert names("/usr/bin/time -f %e -o out tool\n") == ["/usr/bin/time", "tool"]


# -- shells and strings ---------------------------------------------------------


def test_sh_c_static_string():
    text = "sh -c 'tar xf a; gzip -d b'\nbash -ec \"make && make install\"\n"
    assert names(text) == ["sh", "tar", "gzip", "bash", "make"]


def test_sh_c_lines_are_mapped():
    r = analyze_shell('x\nbash -c "\n  one\n  two"\n')
    assert [(c.name, c.line) for c in r.commands] == [("x", 1), ("bash", 2), ("one", 3), ("two", 4)]


def test_sh_c_expands_outer_variables():
    assert names('T=sed\nsh -c "$T -n p"\n') == ["sh", "sed"]


def test_sh_c_dynamic_string_warns():
    assert names('sh -c "$CMD"\n') == ["sh"]
    assert warns('sh -c "$CMD"\n') == [
        (1, 'sh -c of a string built at run time (analysed with its known parts): "$CMD"'),
        (1, "command name built at run time: $CMD"),
    ]


def test_sh_c_dynamic_argument_keeps_known_command():
    assert names('sh -c "exec app --port $PORT"\n') == ["sh", "app"]


def test_sh_script_file():
    assert uses("sh ./setup.sh arg\nbash -x /opt/run.sh\n") == [
        ("sh", "run"), ("./setup.sh", "script"), ("bash", "run"), ("/opt/run.sh", "script")]


def test_sh_reading_heredoc():
    text = "sh <<'EOS'\nls /\nuname -a\nEOS\n"
    r = analyze_shell(text)
    assert [(c.name, c.line) for c in r.commands] == [("sh", 1), ("ls", 2), ("uname", 3)]


def test_eval_static_and_dynamic():
    assert names("eval 'foo bar'\neval \"baz\" qux\n") == ["foo", "baz"]
    assert warns('eval "$dyn"\n') == [
        (1, 'eval of a string built at run time (analysed with its known parts): "$dyn"'),
        (1, "command name built at run time: $dyn"),
    ]


def test_function_defined_in_eval():
    text = "echo padding padding padding\neval 'f() { inner-x; }'\nf\n"
    r = analyze_shell(text)
    assert [(c.name, c.line) for c in r.commands] == [("inner-x", 2)]
    assert r.functions == ("f",)


def test_sh_reading_stdin_warns():
    assert names("curl -s https://example.invalid/i.sh | sh\n") == ["curl", "sh"]
    assert warns("curl -s https://example.invalid/i.sh | sh\n") == [
        (1, "sh reads its commands from standard input; not analysed")]


def test_sh_heredoc_with_expansions():
    text = 'bash <<EOF\n$TOOL -x\nls "$DIR"\nEOF\n'
    assert names(text) == ["bash", "ls"]
    assert warns(text) == [
        (2, "here-document run by bash has expansions; analysed as written"),
        (2, "command name built at run time: $TOOL"),
    ]


def test_coproc():
    assert names("coproc bc -l\n", shell="bash") == ["bc"]


def test_eval_shares_state():
    assert names("eval 'T=gawk'\n$T 1\n") == ["gawk"]


def test_trap_string_is_analysed():
    assert names("tmp=$(mktemp)\ntrap 'rm -f $tmp; cleanup-helper' EXIT INT\ntrap - EXIT\n") == [
        "mktemp", "rm", "cleanup-helper"]


# -- variables -------------------------------------------------------------------


def test_plain_assignment_and_env():
    assert names("TOOL=sed\n$TOOL -n p\n") == ["sed"]
    assert names("$TOOL -n p\n", env={"TOOL": "/opt/bin/tool"}) == ["/opt/bin/tool"]
    assert names("${TOOL} x\n", env={"TOOL": "awk"}) == ["awk"]


def test_default_forms():
    text = ": ${PAGER:=less}\n$PAGER f\nX=${X:-vim}\n$X\n${Y:-nano} f\n${Z-emacs}\n"
    assert names(text) == ["less", "vim", "nano", "emacs"]
    assert names(text, env={"PAGER": "more", "X": "vi", "Y": "ed", "Z": ""}) == ["more", "vi", "ed"]


def test_assign_default_inside_argument():
    assert names('echo "${T:=gawk}"\n$T 1\n') == ["gawk"]


def test_alternative_and_strip_forms():
    text = 'p=/usr/bin/python3.11\n${p%.*} x\n${p##*/} y\n${p/python/perl} z\n${FLAG:+strace} app\n'
    assert names(text) == ["/usr/bin/python3", "python3.11", "/usr/bin/perl3.11", "app"]
    assert names(text, env={"FLAG": "1"})[-2:] == ["strace", "app"]
    assert names("${DEBUG:+strace -f -o /tmp/t} app\n", env={"DEBUG": "y"}) == ["strace", "app"]


def test_branches_give_every_possible_value():
    text = "if [ -x /usr/bin/gawk ]; then AWK=gawk; else AWK=mawk; fi\n$AWK 1\n"
    assert names(text) == ["gawk", "mawk"]


def test_sequential_assignment_replaces():
    assert names("T=a\nT=b\n$T\n") == ["b"]


def test_for_loop_variable_values():
    assert names("for t in gzip bzip2 xz; do $t -t f; done\n") == ["gzip", "bzip2", "xz"]


def test_word_splitting_of_unquoted_variables():
    assert names('CC="gcc -m32"\n$CC -c a.c\n"$CC" -c a.c\n') == ["gcc", "gcc -m32"]


def test_empty_variable_shifts_command_name():
    text = 'SUDO=\n[ "$(id -u)" = 0 ] || SUDO=sudo\n$SUDO apt-get update\n'
    assert names(text) == ["id", "sudo", "apt-get"]


def test_partial_values_keep_known_command():
    text = 'GREP="grep -q $pat"\n$GREP file\nCHECK="test $? -eq 0"\n$CHECK && ok-tool\n'
    assert names(text) == ["grep", "ok-tool"]
    assert warns(text) == []


def test_arrays():
    text = 'cmd=(sed -n)\ncmd+=(-e p)\n"${cmd[@]}" f\n${cmd[0]} g\nargs=()\n"${args[@]}" h\n'
    assert names(text) == ["sed", "h"]


def test_command_v_substitution_names_the_program():
    text = 'PY=$(command -v python3 || command -v python)\nexec "$PY" app.py\n'
    assert uses(text) == [("python3", "lookup"), ("python", "lookup"), ("python3", "exec"),
                          ("python", "exec")]


def test_read_makes_variables_dynamic():
    text = "T=sed\nread -r T\n$T x\n"
    assert names(text) == []
    assert warns(text) == [(3, "command name built at run time: $T")]


def test_dynamic_command_names_warn():
    text = 'cmd=$(pick)\n$cmd a\n$(get_tool) b\n"${array[@]}"\n$UNSET_VAR c\n'
    assert names(text) == ["pick", "get_tool"]
    assert warns(text) == [
        (2, "command name built at run time: $cmd"),
        (3, "command name built at run time: $(get_tool)"),
        (4, 'command name built at run time: "${array[@]}"'),
        (5, "command name built at run time: $UNSET_VAR"),
    ]


def test_dynamic_wrapper_option_warns():
    assert warns("nice $NICEOPTS tool\n") == [
        (1, "cannot tell which argument of nice is the command: $NICEOPTS")]
    assert warns('gosu app "$BIN"\n') == [(1, 'command name built at run time: "$BIN"')]


def test_tilde_uses_home():
    assert names("~/bin/tool\n", env={"HOME": "/home/app"}) == ["/home/app/bin/tool"]


def test_quoting_is_removed():
    assert names("'sed' x\n\"a\"wk 1\nfoo\\ bar\n$'tr' a\n") == ["sed", "awk", "foo bar", "tr"]


def test_variables_result():
    r = analyze_shell("A=1\nB=$(x)\nif c; then C=2; else C=3; fi\nexport D=/opt\n")
    assert r.variables == (("A", "1"), ("D", "/opt"))


# -- positional parameters (argv) ------------------------------------------------


ENTRYPOINT = """#!/bin/sh
set -e
if [ "${1#-}" != "$1" ]; then
    set -- redis-server "$@"
fi
if [ "$1" = 'redis-server' -a "$(id -u)" = '0' ]; then
    find . \\! -user redis -exec chown redis '{}' +
    exec gosu redis "$0" "$@"
fi
exec "$@"
"""


def test_entrypoint_with_argv():
    r = analyze_shell(ENTRYPOINT, shell="sh", argv=["/usr/local/bin/docker-entrypoint.sh", "redis-server"])
    assert [(c.name, c.how) for c in r.commands] == [
        ("id", "run"), ("find", "run"), ("chown", "run"), ("gosu", "exec"),
        ("/usr/local/bin/docker-entrypoint.sh", "run"), ("redis-server", "exec"),
    ]
    assert r.warnings == ()


def test_entrypoint_with_option_argv_prepends_server():
    r = analyze_shell(ENTRYPOINT, shell="sh", argv=["/e.sh", "--port", "1"])
    assert ("redis-server", "exec") in [(c.name, c.how) for c in r.commands]
    assert ("--port", "exec") in [(c.name, c.how) for c in r.commands]  # the `if` may not run


def test_entrypoint_without_argv_warns():
    r = analyze_shell(ENTRYPOINT, shell="sh")
    assert [w.message for w in r.warnings] == [
        'command name built at run time: "$0"',
        'command name built at run time: "$@"',
    ]
    assert ("redis-server", "exec") in [(c.name, c.how) for c in r.commands]


def test_function_call_passes_arguments():
    text = '_main() {\n  exec "$@"\n}\n_main "$@"\n'
    assert uses(text, argv=["/e.sh", "postgres", "-c", "x"]) == [("postgres", "exec")]
    assert warns(text) == [(2, 'command name built at run time: "$@"')]


def test_shift_and_set():
    assert names('shift\n"$1"\n', argv=["/e", "a", "b"]) == ["b"]
    assert names('set -- x y\n$2\n', argv=["/e"]) == ["y"]
    assert names('set -eo pipefail\n"$1"\n', argv=["/e", "a"]) == ["a"]


def test_glob_values_from_for_and_arguments():
    text = 'for f in /docker-entrypoint.d/*.sh; do\n  . "$f"\n  "$f"\ndone\n'
    r = analyze_shell(text)
    assert r.commands == (
        CommandUse("/docker-entrypoint.d/*.sh", 2, "source", glob=True),
        CommandUse("/docker-entrypoint.d/*.sh", 3, "run", glob=True),
    )
    assert analyze_shell("'*.sh'\n").commands == (CommandUse("*.sh", 1, "run", glob=False),)


# -- robustness ----------------------------------------------------------------


def test_for_without_in_is_repaired():
    r = analyze_shell('for file do\n  tool "$file"\ndone\n')
    assert [c.name for c in r.commands] == ["tool"]
    assert r.warnings == ()


def test_case_pattern_with_single_quotes_is_repaired():
    text = "case $v in\nless' '45[1-9]* | \\\nless' '4[6-9]*) a-tool ;;\n?*' '?*) b-tool ;;\nesac\nafter\n"
    r = analyze_shell(text)
    assert [c.name for c in r.commands] == ["a-tool", "b-tool", "after"]
    assert r.warnings == ()


def test_escaped_parens_and_dollar_paren_are_repaired():
    text = '[ \\( -f a -o -f b \\) ] && x-tool\nrm -rf $(ls | grep -v ^packages$)\n'
    r = analyze_shell(text)
    assert [c.name for c in r.commands] == ["x-tool", "rm", "ls", "grep"]
    assert r.warnings == ()


def test_pod_heredoc_is_not_code():
    text = ": <<=cut\n=head1 NAME\n\nB<tool> does L<things>\n=cut\nreal-tool\n"
    r = analyze_shell(text)
    assert [c.name for c in r.commands] == ["real-tool"]
    assert r.warnings == ()


def test_an_error_costs_only_its_own_lines():
    text = "first-tool\nfoo() {\n  bar-tool\n}\nx=$(( 1 + ))) ((\nsecond-tool\nfoo\nlast-tool | sort\n"
    r = analyze_shell(text)
    got = [c.name for c in r.commands]
    assert got[:2] == ["first-tool", "bar-tool"]
    assert got[-3:] == ["second-tool", "last-tool", "sort"] or got[-2:] == ["last-tool", "sort"]
    assert "foo" not in got
    assert [w.line for w in r.warnings] and all(w.line == 5 for w in r.warnings)


def test_syntax_errors_warn_and_keep_going():
    r = analyze_shell("good-one\nif then fi ((( \"\nthen\n")
    assert [c.name for c in r.commands][:1] == ["good-one"]
    assert r.warnings
    assert all("parse" in w.message or "syntax" in w.message for w in r.warnings)


def test_binary_garbage_does_not_crash():
    data = bytes(range(256)).decode("latin-1") * 20
    r = analyze_shell(data)
    assert isinstance(r, ShellAnalysis)


def test_deep_nesting_does_not_crash():
    text = "a && " * 3000 + "b\n" + "$(" * 200 + "c" + ")" * 200 + "\n"
    r = analyze_shell(text)
    assert isinstance(r, ShellAnalysis)


def test_many_alternatives_are_bounded():
    lines = [f"if c{i}; then V{i}=a{i}; else V{i}=b{i}; fi" for i in range(12)]
    lines.append(" ".join(f"$V{i}" for i in range(12)))
    r = analyze_shell("\n".join(lines) + "\n")
    assert {"a0", "b0"} <= {c.name for c in r.commands}


def big_script(n_blocks: int) -> str:
    block = """
# block {i}
do_thing_{i}() {{
    local target="$1"
    if [ -f "$target" ]; then
        sed -e 's/a/b/' "$target" | grep -v '^#' > "$target.tmp" && mv "$target.tmp" "$target"
    elif [ -d "$target" ]; then
        find "$target" -type f -exec chmod 644 {{}} +
    else
        case "$target" in
            *.gz) gunzip -c "$target" ;;
            *) cat "$target" ;;
        esac
    fi
    COUNT=$(( COUNT + $(wc -l < "$target") ))
}}
do_thing_{i} "/etc/file{i}"
"""
    return "#!/bin/sh\nCOUNT=0\n" + "".join(block.format(i=i) for i in range(n_blocks))


def test_1000_lines():  # its speed: bench/bench_shell.py
    text = big_script(60)
    assert text.count("\n") >= 1000
    assert names(text) == ["sed", "grep", "mv", "find", "chmod", "gunzip", "cat", "wc"]


# -- real scripts of a Debian machine (tests/host_scripts/README.md) ---------


def _real(path: str) -> str:
    return (HOST_SCRIPTS / path.lstrip("/")).read_text(errors="surrogateescape")


def test_real_ldd():
    r = analyze_shell(_real("/usr/bin/ldd"), shell="bash")
    got = {(c.name, c.how) for c in r.commands}
    # ldd runs each candidate dynamic loader with --verify, then with the program
    assert ("/lib64/ld-linux-x86-64.so.2", "run") in got
    assert all(c.how == "run" for c in r.commands)
    assert any("eval" in w.message for w in r.warnings)


def test_real_zgrep():
    r = analyze_shell(_real("/usr/bin/zgrep"), shell="sh")
    got = [c.name for c in r.commands]
    for expected in ("expr", "sed", "gzip", "cat", "rm"):
        assert expected in got
    assert "mktemp" in got
    assert "echo" not in got and "test" not in got


def test_real_update_ca_certificates():
    r = analyze_shell(_real("/usr/sbin/update-ca-certificates"), shell="sh")
    got = [c.name for c in r.commands]
    for expected in ("mktemp", "find", "readlink", "openssl", "run-parts", "ln", "sed"):
        assert expected in got
    # `find ... -exec test -e {} \;` execs /usr/bin/test, the program
    assert "test" in got


def test_real_zless():
    # its case patterns (`less' '45[1-9]*`) defeat tree-sitter-bash unrepaired
    r = analyze_shell(_real("/usr/bin/zless"), shell="sh")
    assert [(c.name, c.how) for c in r.commands] == [("less", "run"), ("less", "exec")]
    assert r.warnings == ()


def test_real_which():
    r = analyze_shell(_real("/usr/bin/which.debianutils"), shell="sh")
    # all builtins and its own `puts`, except ksh's `print` in a branch taken
    # only under ksh: for sh that is an external command
    assert [(c.name, c.how) for c in r.commands] == [("print", "run")]
    assert r.functions == ("puts",)


def test_real_debootstrap_functions():
    r = analyze_shell(_real("/usr/share/debootstrap/functions"), shell="sh")
    got = {c.name for c in r.commands}
    assert {"wget", "gpgv", "dpkg-deb", "tar", "sed", "mkdir", "perl"} <= got
    assert "info" not in got and "error" not in got  # functions of the file
    assert any(w.message.startswith("command name built at run time: ") for w in r.warnings)


def test_real_init_scripts():
    scripts = sorted((HOST_SCRIPTS / "etc/init.d").iterdir())
    assert len(scripts) == 8
    for p in scripts:
        r = analyze_shell(p.read_text(errors="surrogateescape"), shell="sh")
        assert any(c.how == "source" and c.name == "/lib/lsb/init-functions" for c in r.commands) or \
            any(c.how == "source" for c in r.commands), p


def test_real_init_dbus():
    r = analyze_shell(_real("/etc/init.d/dbus"), shell="sh")
    got = [(c.name, c.how) for c in r.commands]
    assert got[:2] == [("/lib/lsb/init-functions", "source"), ("/etc/default/dbus", "source")]
    # the daemon is started through start-stop-daemon --start --exec
    assert ("start-stop-daemon", "run") in got and ("/usr/bin/dbus-daemon", "run") in got
    assert ("/usr/bin/dbus-uuidgen", "run") in got
    # functions of init-functions are only known once that file is analysed
    with_lsb = analyze_shell(_real("/etc/init.d/dbus"), shell="sh",
                             functions=["log_daemon_msg", "log_end_msg", "log_failure_msg",
                                        "log_success_msg", "log_action_begin_msg", "log_action_end_msg"])
    assert not any(c.name.startswith("log_") for c in with_lsb.commands)


def _machine_scripts() -> list[Path]:
    out = []
    for d in ("usr/bin", "usr/sbin", "etc/init.d", "usr/share/debootstrap"):
        for p in sorted((HOST_SCRIPTS / d).iterdir()):
            try:
                if p.is_symlink() or not p.is_file():
                    continue
                with p.open("rb") as f:
                    head = f.read(64)
            except OSError:
                continue
            first = head.split(b"\n", 1)[0]
            if first.startswith(b"#!") and (b"sh" in first) and b"python" not in first and b"perl" not in first:
                out.append(p)
    return out


def test_every_shell_script_of_a_debian_machine():  # their speed: bench/bench_shell.py
    scripts = _machine_scripts()
    assert len(scripts) == 57  # all but debootstrap's functions, which has no #! line
    with_commands = 0
    for p in scripts:
        text = p.read_text(errors="surrogateescape")
        r = analyze_shell(text, shell="bash" if b"bash" in p.read_bytes()[:40] else "sh")
        with_commands += bool(r.commands)
        for c in r.commands:
            assert c.name and c.how in ("run", "exec", "lookup", "source", "script"), (p, c)
            assert c.line >= 1
    assert with_commands >= len(scripts) * 0.8
