"""From the image config to the keep set: execvp, shells, scripts, data roots, include/exclude.

Programs here are stand-ins (executable non-ELF files), so what is tested is the resolution
of commands and roots, not the ELF tracer (tests/test_elf_*.py).
"""

from __future__ import annotations

import pytest

from slimmer.errors import SlimError
from slimmer.report import render_why
from slimmer.trace.closure import TraceContext
from slimmer.trace.commands import CommandResolver
from slimmer.trace.roots import RootOptions, run_spec
from slimmer.trace.session import trace_image, trace_paths

from imagefactory import File, Symlink, make_layer, merged_rootfs

BIN = File(b"\0stand-in program\0", mode=0o755)

BASE = [
    ("usr/bin/dash", BIN), ("bin", Symlink("usr/bin")), ("usr/bin/sh", Symlink("dash")),
    ("usr/bin/bash", BIN), ("usr/bin/env", BIN), ("usr/bin/sed", BIN), ("usr/bin/grep", BIN),
    ("usr/bin/mawk", BIN), ("etc/alternatives/awk", Symlink("/usr/bin/mawk")), ("usr/bin/awk", Symlink("/etc/alternatives/awk")),
    ("usr/bin/date", BIN), ("usr/bin/unused", BIN), ("usr/bin/jq", BIN),
    ("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n"),
    ("etc/group", b"root:x:0:\napp:x:1000:\n"),
    "home/", "home/app/", ("home/app/.profile", b"# profile\n"), "root/",
    ("tmp/", None), ("usr/lib/os-release", b"ID=debian\n"), ("etc/os-release", Symlink("../usr/lib/os-release")),
    ("usr/share/zoneinfo/Europe/Paris", b"TZif2 paris"), ("usr/share/zoneinfo/Asia/Tokyo", b"TZif2 tokyo"),
    ("usr/lib/locale/C.utf8/LC_CTYPE", b"ctype"), ("usr/lib/locale/fr_FR.utf8/LC_TIME", b"time"),
]


def image_config(**container) -> dict:
    return {"config": container}


def traced(tmp_path, config: dict, extra=(), options: RootOptions = RootOptions(), exclude=(), **overrides):
    fs = merged_rootfs(tmp_path, make_layer(BASE + list(extra), parents=True)).rootfs
    return fs, trace_image(fs, run_spec(config, **overrides), options, exclude)


def test_execvp_search_skips_non_executables_and_honours_empty_entries(tmp_path):
    fs = merged_rootfs(tmp_path, make_layer([
        ("opt/bin/tool", File(b"x", mode=0o644)),  # not executable: skipped, as execvp skips EACCES
        ("usr/bin/tool", BIN), ("work/tool", BIN), ("work/sub/run", BIN),
    ], parents=True)).rootfs
    resolver = CommandResolver(TraceContext(fs=fs, env={"PATH": "/opt/bin:/usr/bin"}))
    assert resolver.find("tool") == "/usr/bin/tool"
    resolver = CommandResolver(TraceContext(fs=fs, env={"PATH": "/opt/bin::/usr/bin"}))
    assert resolver.find("tool", cwd="/work") == "/work/tool"  # "" in PATH is the current directory
    assert resolver.find("sub/run", cwd="/work") == "/work/sub/run"  # a slash: no PATH search
    assert resolver.find("missing") is None
    # No PATH in the image: Docker's default PATH applies to the container.
    fs_default = CommandResolver(TraceContext(fs=fs, env=run_spec(image_config(Cmd=["tool"])).env))
    assert fs_default.find("tool") == "/usr/bin/tool"


def test_shell_form_cmd_keeps_the_shell_and_every_command_of_the_string(tmp_path):
    config = image_config(Cmd=["/bin/sh", "-c", "grep -q x /etc/passwd | sed s/a/b/ && awk 1 </dev/null; $TOOL_FROM_RUNTIME"],
                          Env=["PATH=/usr/bin:/bin"])
    _fs, result = traced(tmp_path, config)
    keep = result.keep
    for path in ("/bin", "/usr/bin/sh", "/usr/bin/dash", "/usr/bin/grep", "/usr/bin/sed",
                 "/usr/bin/awk", "/etc/alternatives/awk", "/usr/bin/mawk"):
        assert path in keep, path
    assert "/usr/bin/unused" not in keep and "/usr/bin/bash" not in keep
    assert keep.reasons["/usr/bin/sed"].via is None  # found while resolving the root command line
    assert "sh -c in ENTRYPOINT/CMD" in keep.reasons["/usr/bin/sed"].text
    assert [w.message for w in keep.warnings if "$TOOL_FROM_RUNTIME" in w.message], keep.warnings


def test_shebang_env_split_string_and_sourced_files(tmp_path):
    script = b"#!/usr/bin/env -S bash -e\n. /usr/local/lib/helpers.sh\nTZ_TOOL=date\n$TZ_TOOL +%s\nhelper_fn\n"
    helpers = b"helper_fn() { jq . /dev/null; }\n"
    config = image_config(Entrypoint=["/usr/local/bin/start"], Cmd=["--flag"], Env=["PATH=/usr/local/bin:/usr/bin"])
    _fs, result = traced(tmp_path, config, [("usr/local/bin/start", File(script, mode=0o755)),
                                           ("usr/local/lib/helpers.sh", helpers)])
    keep = result.keep
    for path in ("/usr/local/bin/start", "/usr/bin/env", "/usr/bin/bash", "/usr/local/lib/helpers.sh",
                 "/usr/bin/date", "/usr/bin/jq"):
        assert path in keep, path
    assert keep.reasons["/usr/bin/bash"].via == "/usr/local/bin/start"
    assert keep.reasons["/usr/bin/jq"].via == "/usr/local/lib/helpers.sh"
    chain = render_why(keep, "/usr/bin/jq").splitlines()
    assert chain[0].startswith("/usr/local/bin/start: ENTRYPOINT/CMD")
    assert chain[-1].strip().startswith("/usr/bin/jq:")


def test_config_roots_user_workdir_tmp_and_os_release(tmp_path):
    # The zone and locale the Env names are kept for the programs that load them
    # (tests/test_named_data.py): these stand-ins load nothing.
    config = image_config(Entrypoint=["/usr/bin/date"], User="app", WorkingDir="/srv/data",
                          Env=["TZ=Europe/Paris", "LANG=fr_FR.UTF-8"],
                          Healthcheck={"Test": ["CMD-SHELL", "grep -q ok /tmp/health"]})
    _fs, result = traced(tmp_path, config, ["srv/", "srv/data/"])
    keep = result.keep
    for path in ("/etc/passwd", "/etc/group", "/home/app", "/srv/data", "/tmp", "/etc/os-release",
                 "/usr/lib/os-release", "/usr/bin/grep", "/usr/bin/dash"):
        assert path in keep, path
    assert "/usr/share/zoneinfo/Europe/Paris" not in keep and "/usr/lib/locale/fr_FR.utf8/LC_TIME" not in keep
    assert "/home/app/.profile" not in keep  # the home directory itself, not its content
    assert keep.reasons["/usr/bin/grep"].text.startswith("run at line 1 of sh -c in HEALTHCHECK")


def test_overrides_include_and_exclude(tmp_path):
    config = image_config(Entrypoint=["/usr/bin/date"])
    _fs, result = traced(tmp_path, config, options=RootOptions(include_exe=("jq",), include=("/usr/share/zoneinfo/Asia/*",)),
                        exclude=("/usr/lib/os-release",), entrypoint="sed -n p")
    keep = result.keep
    assert "/usr/bin/sed" in keep and "/usr/bin/date" not in keep  # --entrypoint replaces the image's
    assert "/usr/bin/jq" in keep and "/usr/share/zoneinfo/Asia/Tokyo" in keep
    assert "/usr/share/zoneinfo/Europe/Paris" not in keep
    assert result.excluded == ["/usr/lib/os-release"] and "/usr/lib/os-release" not in keep


def test_missing_roots_are_clear_errors(tmp_path):
    with pytest.raises(SlimError, match="no ENTRYPOINT or CMD"):
        traced(tmp_path, image_config())
    with pytest.raises(SlimError, match="--include-exe nothere: not found in the image's PATH"):
        traced(tmp_path, image_config(Cmd=["date"]), options=RootOptions(include_exe=("nothere",)))
    with pytest.raises(SlimError, match="--include /no/such/\\*: nothing in the image matches"):
        traced(tmp_path, image_config(Cmd=["date"]), options=RootOptions(include=("/no/such/*",)))


def test_unresolvable_entrypoint_is_a_warning_not_a_silent_drop(tmp_path):
    _fs, result = traced(tmp_path, image_config(Cmd=["not-installed", "--x"]))
    assert next(w.message for w in result.keep.warnings) == \
        "command 'not-installed' not found in the image's PATH (ENTRYPOINT/CMD)"


def test_entrypoint_script_execs_its_cmd_and_runs_globbed_hooks(tmp_path):
    script = (b"#!/bin/sh\nset -e\nfor f in /entrypoint.d/*.sh; do . \"$f\"; done\n"
              b"if [ \"${1#-}\" != \"$1\" ]; then set -- sed \"$@\"; fi\nexec \"$@\"\n")
    config = image_config(Entrypoint=["/entrypoint.sh"], Cmd=["-n", "p"])
    _fs, result = traced(tmp_path, config, [("entrypoint.sh", File(script, mode=0o755)),
                                           ("entrypoint.d/10-a.sh", b"grep -q x /etc/passwd\n"),
                                           ("entrypoint.d/20-b.sh", b"date\n")])
    keep = result.keep
    for path in ("/entrypoint.sh", "/usr/bin/dash", "/entrypoint.d/10-a.sh", "/entrypoint.d/20-b.sh",
                 "/usr/bin/grep", "/usr/bin/date", "/usr/bin/sed"):
        assert path in keep, path
    assert keep.reasons["/usr/bin/sed"].text.startswith("exec at line 5 of /entrypoint.sh")
    assert "/usr/bin/jq" not in keep
    # A string test on known values is evaluated: "exec -n p" cannot happen (it used to be reported).
    assert keep.warnings == []


def test_data_files_named_by_absolute_path_in_a_script_are_kept(tmp_path):
    script = (b"#!/bin/bash\nDATA=/srv/inventory.csv\n# /srv/only-in-a-comment.txt\n"
              b"grep -v '^#' \"$DATA\" | sed 's/a/b/' > /dev/null\ncat /srv/missing.txt /srv\n")
    config = image_config(Entrypoint=["/usr/local/bin/report"])
    _fs, result = traced(tmp_path, config, [("usr/local/bin/report", File(script, mode=0o755)),
                                           ("srv/inventory.csv", b"a,b\n"), ("srv/only-in-a-comment.txt", b"x"),
                                           ("srv/other.csv", b"y")])
    keep = result.keep
    assert keep.reasons["/srv/inventory.csv"].text == "argument 3 of grep (run at line 4 of /usr/local/bin/report)"
    assert "/srv/only-in-a-comment.txt" not in keep and "/srv/other.csv" not in keep


def test_files_named_on_the_command_line_are_kept(tmp_path):
    config = image_config(Entrypoint=["/usr/bin/grep", "-f", "/srv/patterns", "--file=rules.txt"],
                          Cmd=["/srv/input.csv", "/", "/srv"], WorkingDir="/srv")
    _fs, result = traced(tmp_path, config, [("srv/patterns", b"x"), ("srv/rules.txt", b"y"),
                                           ("srv/input.csv", b"z"), ("srv/unrelated", b"u")])
    keep = result.keep
    assert keep.reasons["/srv/patterns"].text == "argument 2 of grep (ENTRYPOINT/CMD)"
    assert keep.reasons["/srv/rules.txt"].text == "argument 3 of grep (ENTRYPOINT/CMD)"
    assert "/srv/input.csv" in keep and "/srv/unrelated" not in keep


def test_a_symlink_loop_as_entrypoint_is_named_as_such(tmp_path):
    _fs, result = traced(tmp_path, image_config(Entrypoint=["/app"]), [("app", Symlink("/app2")), ("app2", Symlink("/app"))])
    assert [w.message for w in result.keep.warnings] == [
        "too many levels of symbolic links resolving /app (loop at /app) (ENTRYPOINT/CMD)"]


def test_busybox_applets_through_symlinks_and_its_shell_dialect(tmp_path):
    """A busybox image: /bin/sh and /bin/ls are links to one multi-call binary; `sh` is ash there,
    where `source` is a builtin (dash has none: it would be looked up as a program)."""
    layer = make_layer([("bin/busybox", BIN), ("bin/sh", Symlink("busybox")), ("bin/ls", Symlink("/bin/busybox")),
                        ("bin/wc", Symlink("busybox")), ("app/run.sh", File(b"#!/bin/sh\nsource /app/env\nls /app | wc -l\n", mode=0o755)),
                        ("app/env", b"X=1\n"), ("bin/unused", Symlink("busybox"))], parents=True)
    fs = merged_rootfs(tmp_path, layer).rootfs
    result = trace_image(fs, run_spec(image_config(Entrypoint=["/app/run.sh"], Env=["PATH=/bin"])))
    keep = result.keep
    for path in ("/app/run.sh", "/bin/sh", "/bin/busybox", "/bin/ls", "/bin/wc", "/app/env"):
        assert path in keep, path
    assert "/bin/unused" not in keep
    assert result.ctx.roles["/app/run.sh"] == "shell:busybox"
    assert result.keep.warnings == []
    # Called by its own name, busybox runs the applet given as its first argument.
    result = trace_image(fs, run_spec(image_config(Entrypoint=["busybox", "sh", "-c", "ls /app"], Env=["PATH=/bin"])))
    assert {"/bin/busybox", "/bin/ls"} <= set(result.keep.reasons)


def test_from_traces_a_script_as_if_it_were_run(tmp_path):
    """`slim trace --from FILE`: a script (executable or not) is traced as run, with unknown arguments."""
    fs = merged_rootfs(tmp_path, make_layer(BASE + [("opt/job.sh", File(b"#!/bin/bash\nsed -n p \"$1\"\nexec \"$@\"\n"))],
                                            parents=True)).rootfs
    result = trace_paths(fs, ["/opt/job.sh"], run_spec(image_config(Cmd=["date"])))
    assert {"/opt/job.sh", "/usr/bin/bash", "/usr/bin/sed"} <= set(result.keep.reasons)
    assert [w.message for w in result.keep.warnings] == ['/opt/job.sh, line 3: command name built at run time: "$@"']
