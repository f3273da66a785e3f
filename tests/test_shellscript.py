"""Tests for the static shell script analyser (slimmer.trace.shell)."""

from __future__ import annotations

import dataclasses
import fnmatch
import shlex
from pathlib import Path

import pytest

from slimmer.trace.argv import DynamicWord, is_dynamic
from slimmer.trace.shell import CommandUse, ShellAnalysis, ShellWarning, UseKind, analyze_shell

COMMANDS = (UseKind.RUN, UseKind.EXEC, UseKind.SOURCE, UseKind.LOOKUP)


def commands(analysis: ShellAnalysis) -> list[CommandUse]:
    """What the script runs, sources or looks up (not the paths it opens itself)."""
    return [c for c in analysis.uses if c.kind in COMMANDS]

HOST_SCRIPTS = Path(__file__).resolve().parent / "host_scripts"  # copies of a Debian machine's scripts


def uses(text: str, **kw) -> list[tuple[str, str]]:
    """(name, kind) pairs of what the script runs, sources or looks up, in order, each once."""
    return list(dict.fromkeys((c.name, c.kind) for c in analyze_shell(text, **kw).uses if c.kind in COMMANDS))


def names(text: str, **kw) -> list[str]:
    return [name for name, _ in uses(text, **kw)]


def warns(text: str, **kw) -> list[tuple[int, str]]:
    return [(w.line, w.message) for w in analyze_shell(text, **kw).warnings]


# -- interface ---------------------------------------------------------------


def test_result_types_and_lines():
    r = analyze_shell("echo hi\nsed -n p f\n\ngrep x y\n")
    assert isinstance(r, ShellAnalysis)
    assert r.uses == (
        CommandUse(("sed", "-n", "p", "f"), 2, UseKind.RUN),
        CommandUse(("grep", "x", "y"), 4, UseKind.RUN),
    )
    assert r.warnings == ()


def test_dataclasses_are_frozen():
    c = CommandUse(("sed",), 1, UseKind.RUN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.name = "awk"  # type: ignore[misc]
    w = ShellWarning(1, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.line = 2  # type: ignore[misc]


def test_dedup_by_command_line_and_kind_keeps_first_line():
    r = analyze_shell("sed a\nsed b\nsed a\nexec sed a\n")
    assert r.uses == (CommandUse(("sed", "a"), 1, UseKind.RUN), CommandUse(("sed", "b"), 2, UseKind.RUN),
                      CommandUse(("sed", "a"), 4, UseKind.EXEC))


def test_words_built_at_run_time_keep_their_known_parts():
    (use,) = analyze_shell('tool --port="$PORT" -c "exec app --port $PORT"\n').uses
    assert use.argv == ("tool", '--port="$PORT"', "-c", '"exec app --port $PORT"')
    assert [is_dynamic(w) for w in use.argv] == [False, True, False, True]
    assert [p.text for p in use.argv[3].pieces if p.text != ""] == ["exec app --port ", None]


def test_empty_and_comment_only():
    assert analyze_shell("").uses == ()
    assert analyze_shell("#!/bin/sh\n# nothing\n").uses == ()


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
    assert [c.line for c in commands(r)] == [1, 1, 2, 2, 4]


def test_quoted_heredoc_is_text():
    assert names("cat <<'EOF'\n$(date) `whoami`\nEOF\n") == ["cat"]


def test_arithmetic_and_double_brackets():
    text = 'n=$(( $(wc -l < f) + 1 ))\n(( i++ ))\n[[ -x $(which foo) && $x == y* ]] && bar\n'
    assert uses(text) == [("wc", "run"), ("which", "run"), ("bar", "run")]


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
    assert uses("time make all\n", shell="dash") == [("time", "run")]  # /usr/bin/time, a wrapper


def test_unknown_shell_warns_and_assumes_bash():
    r = analyze_shell("let x=1\nfoo\n", shell="zsh-ish")
    assert [c.name for c in commands(r)] == ["foo"]
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
    assert [(c.name, c.kind, c.line) for c in commands(r)] == [
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
    # `which` is a program: what it looks up is the tracer's (tests/test_programs.py)
    assert uses(text) == [("curl", "lookup"), ("apt-get", "run"), ("which", "run"), ("jq", "lookup"),
                          ("rsync", "lookup")]


def test_exec_forms():
    text = "exec nginx -g 'daemon off;'\nexec -a name /usr/bin/foo\nexec >log\n"
    assert uses(text) == [("nginx", "exec"), ("/usr/bin/foo", "exec")]


def test_exec_of_builtin_name_is_external():
    # exec never runs a builtin: it needs the program on PATH
    assert uses("exec echo hi\n") == [("echo", "exec")]


def test_command_and_builtin_builtins():
    assert uses("command sed x\nbuiltin echo x\nbuiltin command -v gawk\n") == [
        ("sed", "run"), ("gawk", "lookup")]


# -- programs that run programs: reported with their argv, read by the tracer ----------


@pytest.mark.parametrize("line", [
    "env -i PATH=/bin tool a", "nice -n 5 tool", "gosu postgres tool", "xargs -0 -I{} tool {}",
    "find . -name '*.pyc' -exec rm -f {} \\;", "sh -c 'tar xf a; gzip -d b'", "bash -x /opt/run.sh",
    "su postgres -c tool", "busybox sh -c tool", "start-stop-daemon --start --exec /usr/sbin/daemon -- -f",
])
def test_programs_that_run_programs_are_reported_as_argv(line):
    """What a wrapper, a shell or find does with its arguments is known in one place, the
    tracer's program table (tests/test_programs.py): the analysis reports the command line."""
    (use,) = analyze_shell(line + "\n").uses
    assert use.argv == tuple(shlex.split(line)) and use.kind is UseKind.RUN


def test_a_wrapped_exec_is_one_command_line():
    assert analyze_shell("exec gosu app tool\n").uses == (CommandUse(("gosu", "app", "tool"), 1, UseKind.EXEC),)


def test_sh_c_string_holds_the_outer_values():
    assert analyze_shell('T=sed\nsh -c "$T -n p"\n').uses == (CommandUse(("sh", "-c", "sed -n p"), 2, UseKind.RUN),)


def test_sh_c_dynamic_string_is_left_to_the_tracer():
    (use,) = analyze_shell('sh -c "$CMD"\n').uses
    assert use.argv == ("sh", "-c", '"$CMD"') and is_dynamic(use.argv[2])
    assert warns('sh -c "$CMD"\n') == []


def test_sh_reading_heredoc():
    text = "sh <<'EOS'\nls /\nuname -a\nEOS\n"
    r = analyze_shell(text)
    assert [(c.name, c.line) for c in commands(r)] == [("sh", 1), ("ls", 2), ("uname", 3)]


def test_eval_static_and_dynamic():
    assert names("eval 'foo bar'\neval \"baz\" qux\n") == ["foo", "baz"]
    assert warns('eval "$dyn"\n') == [
        (1, 'eval of a string built at run time (analysed with its known parts): "$dyn"'),
        (1, "command name built at run time: $dyn"),
    ]


def test_function_defined_in_eval():
    text = "echo padding padding padding\neval 'f() { inner-x; }'\nf\n"
    r = analyze_shell(text)
    assert [(c.name, c.line) for c in commands(r)] == [("inner-x", 2)]
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
    assert analyze_shell(text, env={"FLAG": "1"}).uses[-1].argv == ("strace", "app")
    assert analyze_shell("${DEBUG:+strace -f -o /tmp/t} app\n", env={"DEBUG": "y"}).uses[-1].argv == (
        "strace", "-f", "-o", "/tmp/t", "app")


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
    argv = ["/usr/local/bin/docker-entrypoint.sh", "redis-server"]
    assert uses(ENTRYPOINT, shell="sh", argvs=[argv]) == [
        ("id", "run"), ("find", "run"), ("gosu", "exec"), ("redis-server", "exec")]
    r = analyze_shell(ENTRYPOINT, shell="sh", argvs=[argv])
    assert CommandUse(("gosu", "redis", "/usr/local/bin/docker-entrypoint.sh", "redis-server"), 8,
                      UseKind.EXEC) in r.uses
    assert r.warnings == ()


def test_entrypoint_with_option_argv_prepends_server():
    r = analyze_shell(ENTRYPOINT, shell="sh", argvs=[["/e.sh", "--port", "1"]])
    assert ("redis-server", "exec") in [(c.name, c.kind) for c in commands(r)]
    # `[ "${1#-}" != "$1" ]` is known true: the arguments are always prefixed
    assert ("--port", "exec") not in [(c.name, c.kind) for c in commands(r)]


def test_entrypoint_without_argv_warns():
    r = analyze_shell(ENTRYPOINT, shell="sh")
    assert [w.message for w in r.warnings] == ['command name built at run time: "$@"']
    assert ("redis-server", "exec") in [(c.name, c.kind) for c in commands(r)]


def test_function_call_passes_arguments():
    text = '_main() {\n  exec "$@"\n}\n_main "$@"\n'
    assert uses(text, argvs=[["/e.sh", "postgres", "-c", "x"]]) == [("postgres", "exec")]
    assert warns(text) == [(2, 'command name built at run time: "$@"')]


def test_shift_and_set():
    assert names('shift\n"$1"\n', argvs=[["/e", "a", "b"]]) == ["b"]
    assert names('set -- x y\n$2\n', argvs=[["/e"]]) == ["y"]
    assert names('set -eo pipefail\n"$1"\n', argvs=[["/e", "a"]]) == ["a"]


# -- the paths a script loops over: globs and find (a FileQuery answers for the image) ---


class Files:
    """A FileQuery over a list of paths; `find` prints what is under its first argument."""

    def __init__(self, *paths: str) -> None:
        self.paths = sorted(paths)
        self.finds: list[list[str]] = []

    def glob(self, pattern: str) -> list[str]:
        return [p for p in self.paths if fnmatch.fnmatchcase(p, pattern)]

    def find(self, args):
        self.finds.append(list(args))
        top = args[0].rstrip("/") + "/"
        return [p for p in self.paths if p.startswith(top)]


def hooks() -> Files:
    return Files("/docker-entrypoint.d/10-a.sh", "/docker-entrypoint.d/20-b.envsh", "/docker-entrypoint.d/30-c.txt")


NGINX_STYLE_LOOP = """find "/docker-entrypoint.d/" -follow -type f -print | sort -V | while read -r f; do
    case "$f" in
        *.envsh) . "$f" ;;
        *.sh) "$f" ;;
        *) echo "ignoring $f" ;;
    esac
done
"""


def test_a_glob_is_the_files_it_matches():
    text = 'for f in /docker-entrypoint.d/*.sh; do\n  . "$f"\n  "$f"\ndone\n'
    r = analyze_shell(text, files=hooks())
    assert commands(r) == [CommandUse(("/docker-entrypoint.d/10-a.sh",), 2, UseKind.SOURCE),
                           CommandUse(("/docker-entrypoint.d/10-a.sh",), 3, UseKind.RUN)]
    # the shell lists the directory for the glob: what it finds is read
    assert CommandUse(("/docker-entrypoint.d/10-a.sh",), 1, UseKind.READ) in r.uses


def test_a_glob_that_matches_nothing_runs_nothing():
    r = analyze_shell('for f in /none/*.sh; do\n  . "$f"\n  "$f"\ndone\n', files=hooks())
    assert r.uses == () and r.warnings == ()
    assert analyze_shell("'*.sh'\n").uses == (CommandUse(("*.sh",), 1, UseKind.RUN),)  # quoted: a name


def test_find_piped_into_while_read_gives_the_paths_and_case_filters_them():
    files = hooks()
    r = analyze_shell(NGINX_STYLE_LOOP, shell="sh", files=files)
    assert files.finds == [["/docker-entrypoint.d/", "-follow", "-type", "f", "-print"]]
    assert uses(NGINX_STYLE_LOOP, shell="sh", files=hooks()) == [
        ("find", "run"), ("sort", "run"),
        ("/docker-entrypoint.d/20-b.envsh", "source"), ("/docker-entrypoint.d/10-a.sh", "run")]
    assert r.warnings == ()


def test_other_ways_to_read_what_find_prints():
    by_substitution = 'for f in $(find /docker-entrypoint.d -type f); do\n  "$f"\ndone\n'
    by_process_substitution = 'while IFS= read -r f; do\n  "$f"\ndone < <(find /docker-entrypoint.d -type f)\n'
    every_hook = ["/docker-entrypoint.d/10-a.sh", "/docker-entrypoint.d/20-b.envsh", "/docker-entrypoint.d/30-c.txt"]
    for text in (by_substitution, by_process_substitution):
        assert [name for name, kind in uses(text, files=hooks()) if name != "find"] == every_hook, text


def test_what_find_prints_is_unknown_without_the_image_and_nothing_when_empty():
    assert warns(NGINX_STYLE_LOOP, shell="sh") == [(3, 'sourced file name built at run time: "$f"'),
                                                   (4, 'command name built at run time: "$f"')]
    empty = analyze_shell(NGINX_STYLE_LOOP, shell="sh", files=Files())
    assert [c.name for c in commands(empty)] == ["find", "sort"] and empty.warnings == ()


def test_find_piped_into_a_shell_runs_each_path():
    assert [c.argv for c in commands(analyze_shell("find /docker-entrypoint.d -type f | sh\n", files=hooks()))] == [
        ("find", "/docker-entrypoint.d", "-type", "f"), ("sh",), ("/docker-entrypoint.d/10-a.sh",),
        ("/docker-entrypoint.d/20-b.envsh",), ("/docker-entrypoint.d/30-c.txt",)]


def test_postgres_style_init_files_by_glob_and_case():
    text = """docker_process_init_files() {
    local f
    for f; do
        case "$f" in
            *.sh) if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
            *.sql) psql -f "$f" ;;
            *.sql.gz) gunzip -c "$f" | psql ;;
            *) echo "$0: ignoring $f" ;;
        esac
    done
}
docker_process_init_files /docker-entrypoint-initdb.d/*
"""
    files = Files("/docker-entrypoint-initdb.d/init.sql", "/docker-entrypoint-initdb.d/seed.sh")
    r = analyze_shell(text, files=files)
    assert [c.argv for c in commands(r)] == [
        ("/docker-entrypoint-initdb.d/seed.sh",), ("/docker-entrypoint-initdb.d/seed.sh",),
        ("psql", "-f", "/docker-entrypoint-initdb.d/init.sql")]
    assert "gunzip" not in [c.name for c in r.uses]  # no .sql.gz file: that branch cannot run
    assert r.warnings == ()


def test_string_tests_on_known_values_decide_the_branch():
    text = ('if [ "${1:0:1}" = - ] || [ "${1%.conf}" != "$1" ]; then\n  set -- server "$@"\nfi\n'
            '[ "$1" = server ] && start-tool\n[ -n "$1" ] || never-tool\n[ "$(id -u)" = 0 ] && root-tool\n'
            'exec "$@"\n')
    assert uses(text, argvs=[["/e", "server"]]) == [("start-tool", "run"), ("id", "run"), ("root-tool", "run"),
                                                    ("server", "exec")]
    assert uses(text, argvs=[["/e", "-v"]]) == [("start-tool", "run"), ("id", "run"), ("root-tool", "run"),
                                                ("server", "exec")]
    # the outcome differs between two ways the script runs: both paths are taken
    assert {("server", "exec"), ("other", "exec")} <= set(uses(text, argvs=[["/e", "app.conf"], ["/e", "other"]]))


def test_the_script_name_is_known_when_its_arguments_are_not():
    r = analyze_shell('exec gosu app "$0" "$@"\n', argvs=[["/e.sh", DynamicWord('"$@"')]])
    assert [c.argv for c in r.uses] == [("gosu", "app", "/e.sh", '"$@"')] and r.warnings == ()


def test_case_on_a_variable_of_unknown_value_takes_every_branch():
    text = 'case "$1" in\n  *.sh) a-tool ;;\n  *) b-tool ;;\nesac\n'
    assert names(text) == ["a-tool", "b-tool"]
    assert names(text, argvs=[["/e", "x.sh"]]) == ["a-tool"]


# -- paths the shell opens itself, and paths in arguments ---------------------------


def test_paths_the_shell_tests_enters_reads_and_writes():
    text = ('[ -d /var/lib/app ] && cd /srv\ntest -f "$CONF" || exit 1\n'
            'cat < /etc/app.conf > /var/log/app/out.log 2>&1\n[[ /a -nt /b ]]\n')
    r = analyze_shell(text, env={"CONF": "/etc/app/conf.ini"})
    assert [(c.name, c.kind) for c in r.uses if c.kind in (UseKind.READ, UseKind.WRITE)] == [
        ("/var/lib/app", "read"), ("/srv", "read"), ("/etc/app/conf.ini", "read"), ("/etc/app.conf", "read"),
        ("/var/log/app/out.log", "write"), ("/a", "read"), ("/b", "read")]


def test_data_paths_built_from_defaults_inside_a_function():
    text = 'DATA=${APP_DATA:-/srv/app/data}\ncount() {\n  wc -l "${1:-$DATA/input.log}"\n}\ncount\n'
    assert [c.argv for c in analyze_shell(text).uses] == [("wc", "-l", "/srv/app/data/input.log")]
    assert [c.argv for c in analyze_shell(text, env={"APP_DATA": "/data"}).uses] == [("wc", "-l", "/data/input.log")]


# -- robustness ----------------------------------------------------------------


def test_for_without_in_is_repaired():
    r = analyze_shell('for file do\n  tool "$file"\ndone\n')
    assert [c.name for c in commands(r)] == ["tool"]
    assert r.warnings == ()


def test_case_pattern_with_single_quotes_is_repaired():
    text = "case $v in\nless' '45[1-9]* | \\\nless' '4[6-9]*) a-tool ;;\n?*' '?*) b-tool ;;\nesac\nafter\n"
    r = analyze_shell(text)
    assert [c.name for c in commands(r)] == ["a-tool", "b-tool", "after"]
    assert r.warnings == ()


def test_escaped_parens_and_dollar_paren_are_repaired():
    text = '[ \\( -f a -o -f b \\) ] && x-tool\nrm -rf $(ls | grep -v ^packages$)\n'
    r = analyze_shell(text)
    assert [c.name for c in commands(r)] == ["x-tool", "rm", "ls", "grep"]
    assert r.warnings == ()


def test_pod_heredoc_is_not_code():
    text = ": <<=cut\n=head1 NAME\n\nB<tool> does L<things>\n=cut\nreal-tool\n"
    r = analyze_shell(text)
    assert [c.name for c in commands(r)] == ["real-tool"]
    assert r.warnings == ()


def test_an_error_costs_only_its_own_lines():
    text = "first-tool\nfoo() {\n  bar-tool\n}\nx=$(( 1 + ))) ((\nsecond-tool\nfoo\nlast-tool | sort\n"
    r = analyze_shell(text)
    got = [c.name for c in commands(r)]
    assert got[:2] == ["first-tool", "bar-tool"]
    assert got[-3:] == ["second-tool", "last-tool", "sort"] or got[-2:] == ["last-tool", "sort"]
    assert "foo" not in got
    assert [w.line for w in r.warnings] and all(w.line == 5 for w in r.warnings)


def test_syntax_errors_warn_and_keep_going():
    r = analyze_shell("good-one\nif then fi ((( \"\nthen\n")
    assert [c.name for c in commands(r)][:1] == ["good-one"]
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
    assert {"a0", "b0"} <= {c.name for c in commands(r)}


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
    # no target ends in .gz: gunzip's branch cannot run; find's -exec is the tracer's
    assert names(text) == ["sed", "grep", "mv", "find", "cat", "wc"]


# -- real scripts of a Debian machine (tests/host_scripts/README.md) ---------


def _real(path: str) -> str:
    return (HOST_SCRIPTS / path.lstrip("/")).read_text(errors="surrogateescape")


def test_real_ldd():
    r = analyze_shell(_real("/usr/bin/ldd"), shell="bash")
    got = {(c.name, c.kind) for c in commands(r)}
    # ldd runs each candidate dynamic loader with --verify, then with the program
    assert ("/lib64/ld-linux-x86-64.so.2", "run") in got
    assert all(c.kind == "run" for c in commands(r))
    assert any("eval" in w.message for w in r.warnings)


def test_real_zgrep():
    r = analyze_shell(_real("/usr/bin/zgrep"), shell="sh")
    got = [c.name for c in commands(r)]
    for expected in ("expr", "sed", "gzip", "cat", "rm"):
        assert expected in got
    assert "mktemp" in got
    assert "echo" not in got and "test" not in got


def test_real_update_ca_certificates():
    r = analyze_shell(_real("/usr/sbin/update-ca-certificates"), shell="sh")
    got = [c.name for c in commands(r)]
    for expected in ("mktemp", "find", "readlink", "openssl", "run-parts", "ln", "sed"):
        assert expected in got
    # `find ... -exec test -e {} \;` execs /usr/bin/test, the program: find's argv says so
    assert any(c.argv[:1] == ("find",) and "test" in c.argv for c in commands(r))


def test_real_zless():
    # its case patterns (`less' '45[1-9]*`) defeat tree-sitter-bash unrepaired
    r = analyze_shell(_real("/usr/bin/zless"), shell="sh")
    assert [(c.name, c.kind) for c in commands(r)] == [("less", "run"), ("less", "exec")]
    assert r.warnings == ()


def test_real_which():
    r = analyze_shell(_real("/usr/bin/which.debianutils"), shell="sh")
    # all builtins and its own `puts`, except ksh's `print` in a branch taken
    # only under ksh: for sh that is an external command
    assert [(c.name, c.kind) for c in commands(r)] == [("print", "run")]
    assert r.functions == ("puts",)


def test_real_debootstrap_functions():
    r = analyze_shell(_real("/usr/share/debootstrap/functions"), shell="sh")
    got = {c.name for c in commands(r)}
    assert {"wget", "gpgv", "dpkg-deb", "tar", "sed", "mkdir", "perl"} <= got
    assert "info" not in got and "error" not in got  # functions of the file
    assert any(w.message.startswith("command name built at run time: ") for w in r.warnings)


def test_real_init_scripts():
    scripts = sorted((HOST_SCRIPTS / "etc/init.d").iterdir())
    assert len(scripts) == 8
    for p in scripts:
        r = analyze_shell(p.read_text(errors="surrogateescape"), shell="sh")
        assert any(c.kind == "source" and c.name == "/lib/lsb/init-functions" for c in commands(r)) or \
            any(c.kind == "source" for c in commands(r)), p


def test_real_init_dbus():
    r = analyze_shell(_real("/etc/init.d/dbus"), shell="sh")
    got = [(c.name, c.kind) for c in commands(r)]
    assert got[:2] == [("/lib/lsb/init-functions", "source"), ("/etc/default/dbus", "source")]
    # the daemon is started through start-stop-daemon --start --exec
    assert ("start-stop-daemon", "run") in got
    assert any(c.name == "start-stop-daemon" and "/usr/bin/dbus-daemon" in c.argv for c in commands(r))
    assert ("/usr/bin/dbus-uuidgen", "run") in got
    # functions of init-functions are only known once that file is analysed
    with_lsb = analyze_shell(_real("/etc/init.d/dbus"), shell="sh",
                             functions=["log_daemon_msg", "log_end_msg", "log_failure_msg",
                                        "log_success_msg", "log_action_begin_msg", "log_action_end_msg"])
    assert not any(c.name.startswith("log_") for c in commands(with_lsb))


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
        with_commands += bool(commands(r))
        for c in r.uses:
            assert c.name and isinstance(c.kind, UseKind), (p, c)
            assert c.line >= 1
    assert with_commands >= len(scripts) * 0.8
