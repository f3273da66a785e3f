"""Files that are read, not run: kept, but not interpreted by the script, ELF or data tracers.

npm reads the bash script /usr/bin/ldd to tell the libc; `md5sum /usr/bin/prog` reads a
program. Neither runs it, so neither needs its interpreter or its libraries. Each way a file
is found to be read (an operand, a path the shell opens or tests, a path named in code, a
directory listed or found, a package's data, a data rule) is checked to keep the file and
nothing its content would run; a file that is read and also run is traced as run, whichever
use the closure meets first.

The mark of a traced script is its interpreter: scripts here start with `#!/usr/bin/ksh` (ldd
with `#!/usr/bin/bash`), programs nothing else keeps. ELF files are compiled with the host's gcc (tests/elfhelpers.py).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable

import pytest

from slimmer.rootfs.entry import Entry
from slimmer.slim import SlimOptions, slim
from slimmer.trace.closure import Need, TraceContext, close
from slimmer.trace.roots import RootOptions, run_spec
from slimmer.trace.session import TraceResult, trace_image

from elfhelpers import HOST_TRIPLET, GlibcRoot, need_tool, rootfs_from_dir
from imagefactory import File, Symlink, make_layer, merged_rootfs

BIN = File(b"\0stand-in program\0", mode=0o755)
SCRIPT = File(b"#!/usr/bin/ksh\nprintf 'run\\n'\n", mode=0o755)  # run, it needs ksh
PERL = File(b"\0stand-in perl\0/usr/share/perl5\0", mode=0o755)  # @INC compiled in, as perl's own strings
NODE = File(b'\x00stand-in node { "variables": { "node_module_version": 127, } }\x00', mode=0o755)
PROGRAMS = ("dash", "ksh", "bash", "env", "cat", "grep", "md5sum", "ls", "du", "find", "sed", "mawk")
IMAGE = [
    *((f"usr/bin/{name}", BIN) for name in PROGRAMS), ("bin", Symlink("usr/bin")), ("usr/bin/sh", Symlink("dash")),
    ("usr/bin/perl", PERL), "usr/share/perl5/", ("usr/bin/node", NODE),
    ("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", b"root:x:0:\n"), "root/", "tmp/",
    ("opt/tool/helper", SCRIPT), ("opt/tool/README", b"helper prints run\n"),
    ("usr/bin/ldd", File(b"#!/usr/bin/bash\n# GNU C Library\n", mode=0o755)),
    ("usr/bin/awk", Symlink("/etc/alternatives/awk")), ("etc/alternatives/awk", Symlink("/usr/bin/gawk")),
    ("usr/bin/gawk", SCRIPT),
]


def trace(tmp_path, lines: str, extra: Iterable = (), options: RootOptions = RootOptions()) -> TraceResult:
    """The closure of an entrypoint shell script made of `lines`."""
    entrypoint = ("entrypoint.sh", File(f"#!/bin/sh\nset -e\n{lines}\n".encode(), mode=0o755))
    fs = merged_rootfs(tmp_path, make_layer([*IMAGE, entrypoint, *extra], parents=True)).rootfs
    return trace_image(fs, run_spec({"config": {"Entrypoint": ["/entrypoint.sh"], "Env": ["PATH=/usr/bin"]}}),
                       options)


@pytest.mark.parametrize(("line", "reason"), [
    ("cat /opt/tool/helper", "argument 1 of cat"),
    ("md5sum /opt/tool/helper > /tmp/sums", "argument 1 of md5sum"),
    ("grep -q printf /opt/tool/helper", "argument 3 of grep"),
    ("sed -n 1p /opt/tool/helper", "argument 3 of sed"),
    ("read -r first < /opt/tool/helper", "read at line 3"),
    ("[ -x /opt/tool/helper ] && echo executable", "read at line 3"),
    ("HELPER=/opt/tool/helper", "path named at line 3"),
    ("ls /opt/tool", "in /opt/tool, listed by ls"),
    ("du -s /opt/tool", "inside /opt/tool"),
    ("find /opt/tool -type f | sort", "found by find"),
])
def test_an_executable_script_that_is_only_read_is_kept_without_its_interpreter(tmp_path, line, reason):
    keep = trace(tmp_path, line).keep
    assert keep.reasons["/opt/tool/helper"].text.startswith(reason)
    assert "/usr/bin/ksh" not in keep
    assert [w for w in keep.warnings if "helper" in (w.path or "") + w.message] == []


def test_a_symlink_read_as_data_keeps_the_links_and_the_file_as_data(tmp_path):
    keep = trace(tmp_path, "md5sum /usr/bin/awk").keep
    assert {"/usr/bin/awk", "/etc/alternatives/awk", "/usr/bin/gawk"} <= set(keep.reasons)
    assert "/usr/bin/ksh" not in keep


@pytest.mark.parametrize("lines", [
    "cat /opt/tool/helper\n/opt/tool/helper",
    "/opt/tool/helper\ncat /opt/tool/helper",
    "grep -q x /opt/tool/helper || find /opt/tool -type f -exec {} \\;",
    "awk 1 /usr/bin/awk\n/usr/bin/awk",
])
def test_a_script_read_and_run_is_traced_as_run(tmp_path, lines):
    keep = trace(tmp_path, lines).keep
    assert "/usr/bin/ksh" in keep
    script = "/usr/bin/gawk" if "awk" in lines else "/opt/tool/helper"
    assert keep.reasons[script].text.startswith(("run at line", "run by find -exec", "symlink on the way"))


def test_a_script_read_by_one_file_and_run_by_another_is_traced_with_the_reason_that_runs_it(tmp_path):
    """The closure meets the read first (the entrypoint) and the run later (a sourced library's
    function called after it)."""
    keep = trace(tmp_path, "cat /opt/tool/helper\n. /lib/functions.sh\nstart_helper",
                 [("lib/functions.sh", b"start_helper() {\n  /opt/tool/helper --now\n}\n")]).keep
    assert "/usr/bin/ksh" in keep
    assert keep.reasons["/opt/tool/helper"].text.startswith("run at line")
    assert keep.chain("/usr/bin/ksh")[1][0] == "/opt/tool/helper"


class Recorder:
    """A tracer that says which files it was asked about."""

    name = "recorder"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def needs(self, path: str, entry: Entry, ctx: TraceContext) -> Iterable[Need]:
        self.asked.append(path)
        return []


class DataRecorder(Recorder):
    """One that reads data files too (configuration that names other files)."""

    reads_data = True


@pytest.mark.parametrize(("needs", "traced", "reason"), [
    ([Need("/opt/tool/helper", "read", data=True)], [], "read"),
    ([Need("/opt/tool/helper", "read", data=True), Need("/opt/tool/helper", "run")], ["/opt/tool/helper"], "run"),
    ([Need("/opt/tool/helper", "run"), Need("/opt/tool/helper", "read", data=True)], ["/opt/tool/helper"], "run"),
    ([Need("/opt/tool", "listed", recursive=True, data=True)], [], "inside /opt/tool (listed)"),
    ([Need("/usr/bin/awk", "read", data=True), Need("/usr/bin/gawk", "run")], ["/usr/bin/gawk"], "run"),
])
def test_the_closure_hands_a_file_to_the_tracers_once_it_is_used_otherwise_than_read(tmp_path, needs, traced,
                                                                                      reason):
    fs = merged_rootfs(tmp_path, make_layer(IMAGE, parents=True)).rootfs
    recorder = Recorder()
    keep = close(needs, [recorder], TraceContext(fs=fs))
    assert recorder.asked == traced
    kept = "/usr/bin/gawk" if "/usr/bin/awk" in keep else "/opt/tool/helper"
    assert keep.reasons[kept].text == reason
    assert "/opt/tool/helper" in keep or "/usr/bin/gawk" in keep


@pytest.mark.parametrize(("needs", "traced"), [
    ([Need("/opt/tool/helper", "read", data=True)], []),
    ([Need("/opt/tool/helper", "read", data=True), Need("/opt/tool/helper", "run")], ["/opt/tool/helper"]),
    ([Need("/opt/tool/helper", "run"), Need("/opt/tool/helper", "read", data=True)], ["/opt/tool/helper"]),
])
def test_a_tracer_that_reads_data_sees_every_kept_file_once(tmp_path, needs, traced):
    fs = merged_rootfs(tmp_path, make_layer(IMAGE, parents=True)).rootfs
    runs, reads = Recorder(), DataRecorder()
    close(needs, [runs, reads], TraceContext(fs=fs))
    assert runs.asked == traced
    assert reads.asked == ["/opt/tool/helper"]


# -- interpreters: what their code reads ---------------------------------------------------------

def test_a_path_perl_code_opens_is_data_and_a_program_it_runs_is_traced(tmp_path):
    perl = ("perl -e 'open(my $fh, \"<\", \"/usr/bin/ldd\") or die; my @l = <$fh>; "
            "system(\"/opt/tool/helper\", \"--now\") == 0 or die'")
    keep = trace(tmp_path, perl).keep
    assert keep.reasons["/usr/bin/ldd"].text.startswith("path named at line 1 of perl -e")
    assert keep.reasons["/opt/tool/helper"].text.startswith("run by system at perl -e")
    assert keep.chain("/usr/bin/ksh")[1][0] == "/opt/tool/helper"
    assert "/usr/bin/bash" not in keep


def test_files_node_code_reads_are_data(tmp_path):
    """npm's libc check reads /usr/bin/ldd; node-gyp's gyp/ directory holds executable Python
    scripts that only a build runs: neither brings an interpreter or a warning about one."""
    main = (b"const fs = require('fs'); const path = require('path');\n"
            b"const text = fs.readFileSync('/usr/bin/ldd', 'utf8');\n"
            b"const gyp = fs.readdirSync(path.join(__dirname, 'gyp'));\n"
            b"const conf = require('./conf.json');\n")
    app = [("app/main.js", main), ("app/conf.json", b"{}"),
           ("app/gyp/gyp_main.py", File(b"#!/usr/bin/env python3\nimport sys\n", mode=0o755)),
           ("app/gyp/tool.sh", SCRIPT)]
    keep = trace(tmp_path, "exec node /app/main.js", app).keep
    assert {"/usr/bin/ldd", "/app/gyp/gyp_main.py", "/app/gyp/tool.sh", "/app/conf.json"} <= set(keep.reasons)
    assert "/usr/bin/ksh" not in keep and "/usr/bin/bash" not in keep
    assert [w.message for w in keep.warnings] == []


# -- ELF files and the data rules that follow libraries ------------------------------------------

LIB = f"/usr/lib/{HOST_TRIPLET}"


@pytest.fixture(scope="module")
def elf_root(tmp_path_factory):
    """`prog` and NSS's `libsoftokn3.so` need `libleaf.so` (found through their RPATH); the
    stand-in `libnss3.so` makes the data rule of Mozilla NSS fire."""
    need_tool("gcc")
    work = tmp_path_factory.mktemp("elf")
    root = GlibcRoot(work / "root")
    root.compile("leaf.c", "/opt/lib/libleaf.so", "-DLEAF=1", "-Dleaf=leaf", shared=True)
    root.compile("int leaf(void); int main(void) { return leaf(); }\n", "/usr/bin/prog", "-lleaf",
                 "-Wl,-rpath,/opt/lib", libdirs=["/opt/lib"])
    root.compile("int leaf(void); int softokn(void) { return leaf(); }\n", f"{LIB}/nss/libsoftokn3.so", "-lleaf",
                 "-Wl,-rpath,/opt/lib", shared=True, libdirs=["/opt/lib"])
    root.path(f"{LIB}/libnss3.so").write_bytes(b"stand-in NSS library")
    root.path("/etc/pki/nssdb").mkdir(parents=True)
    root.path("/etc/pki/nssdb/cert9.db").write_bytes(b"certificates")
    for name in ("dash", "md5sum", "cat", "ldd"):
        root.path(f"/usr/bin/{name}").write_bytes(b"\0stand-in program\0")
        root.path(f"/usr/bin/{name}").chmod(0o755)
    root.symlink("/usr/bin/sh", "dash")
    root.symlink("/usr/bin/ld.so", f"../lib/{HOST_TRIPLET}/ld-linux-x86-64.so.2")
    return root.root, work


def trace_elf_root(elf_root, tmp_path, lines: str, options: RootOptions = RootOptions()) -> TraceResult:
    root, _work = elf_root
    (root / "entrypoint.sh").write_text(f"#!/bin/sh\n{lines}\n")
    (root / "entrypoint.sh").chmod(0o755)
    fs = rootfs_from_dir(root, tmp_path)
    return trace_image(fs, run_spec({"config": {"Entrypoint": ["/entrypoint.sh"], "Env": ["PATH=/usr/bin"]}}), options)


def test_an_elf_program_read_as_data_keeps_none_of_its_libraries(elf_root, tmp_path):
    keep = trace_elf_root(elf_root, tmp_path, "md5sum /usr/bin/prog\ncat /usr/bin/prog > /tmp/copy").keep
    assert "/usr/bin/prog" in keep
    assert "/opt/lib/libleaf.so" not in keep


def test_an_elf_program_read_and_run_keeps_its_libraries(elf_root, tmp_path):
    keep = trace_elf_root(elf_root, tmp_path, "md5sum /usr/bin/prog\nexec prog").keep
    assert keep.reasons["/opt/lib/libleaf.so"].via == "/usr/bin/prog"
    assert keep.reasons["/usr/bin/prog"].text.startswith("exec at line 3")


@pytest.mark.parametrize(("line", "reason"), [
    ("exec /lib64/ld-linux-x86-64.so.2 /usr/bin/prog --flag", "run by ld-linux-x86-64.so.2 (exec at line 2"),
    ("ld.so --argv0 prog --inhibit-cache /usr/bin/prog", "run by ld.so (run at line 2"),
    ("ldd -v /usr/bin/prog", "loaded by ldd (run at line 2"),
])
def test_an_elf_file_given_to_the_loader_or_ldd_is_loaded(elf_root, tmp_path, line, reason):
    """The loader runs its operand, ldd has the loader list what it maps: not data."""
    keep = trace_elf_root(elf_root, tmp_path, line).keep
    assert keep.reasons["/usr/bin/prog"].text.startswith(reason)
    assert keep.reasons["/opt/lib/libleaf.so"].via == "/usr/bin/prog"
    assert keep.warnings == []


def test_the_loaders_own_search_options_and_bare_names_are_warnings(elf_root, tmp_path):
    keep = trace_elf_root(elf_root, tmp_path, "ld.so --library-path /opt/lib /usr/bin/prog\nld.so prog").keep
    assert "/opt/lib/libleaf.so" in keep
    assert [w.message for w in keep.warnings] == [
        "ld.so's own library options are not followed (run at line 2 of /entrypoint.sh): only the image's "
        "search path is",
        "ld.so prog: a name without a slash is searched as a library (run at line 3 of /entrypoint.sh)"]


def test_a_library_read_as_data_fires_no_data_rule(elf_root, tmp_path):
    keep = trace_elf_root(elf_root, tmp_path, f"md5sum {LIB}/libnss3.so").keep
    assert f"{LIB}/libnss3.so" in keep
    assert "/etc/pki/nssdb/cert9.db" not in keep and f"{LIB}/nss/libsoftokn3.so" not in keep


def test_a_data_rule_keeps_its_data_as_data_and_its_modules_as_loaded(elf_root, tmp_path):
    """NSS's database is data; the modules it loads from its directory need their libraries."""
    keep = trace_elf_root(elf_root, tmp_path, "exit 0", RootOptions(include=(f"{LIB}/libnss3.so",))).keep
    assert "/etc/pki/nssdb/cert9.db" in keep
    assert keep.reasons["/opt/lib/libleaf.so"].via == f"{LIB}/nss/libsoftokn3.so"


# -- the real runtime ----------------------------------------------------------------------------

READS = ("md5sum /usr/bin/ldd /usr/bin/bash; grep -c 'GNU C Library' /usr/bin/ldd; od -An -c -N4 /usr/bin/bash; "
         "cp /usr/bin/bash /tmp/copy && cmp /usr/bin/bash /tmp/copy && echo same")


@pytest.mark.parametrize("runs", [False, True], ids=["read", "read and run"])
def test_programs_read_as_data_in_a_real_image_print_the_same_once_slimmed(sample_image, docker_client, runs):
    """In a Debian image: a shell reads the bash script ldd and the bash binary (sums, text, bytes,
    a copy). Slimmed, it prints the same without libtinfo, bash's library; when it also runs bash,
    libtinfo is kept and bash runs in the slim image."""
    command = READS + ("; bash -c 'echo bash runs'" if runs else "")
    tag = f"slimmer-readonly-test/data-{os.getpid()}:{'run' if runs else 'read'}"
    result = slim(sample_image("sh-app"), SlimOptions(tag=tag, entrypoint=shlex.join(["/bin/sh", "-c", command]),
                                                      verify=True))
    try:
        comparison = result.comparisons[0]
        assert comparison.same and comparison.original.exit_code == 0
        assert (b"bash runs" in comparison.slim.stdout) is runs and b"same" in comparison.slim.stdout
        kept = set(result.trace.keep.reasons)
        assert {"/usr/bin/ldd", "/usr/bin/bash"} <= kept
        assert any("libtinfo" in path for path in kept) is runs
    finally:
        docker_client.images.remove(tag, force=True)
