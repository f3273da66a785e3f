"""The `slim` command line, run as a subprocess: usage errors, failures on hostile or damaged
images (one line on stderr, nothing left behind, the source untouched), and a good synthetic
image with a static program through `slim`, `slim trace --json` and `slim why`.

No Docker daemon is needed, except by the one test that runs the slim image.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import slimmer
from slimmer.analysis import open_analysis
from slimmer.rootfs.entry import EntryType

import requires
from imagefactory import (
    File,
    Hardlink,
    Symlink,
    SyntheticImage,
    compile_static,
    compress,
    digest,
    make_layer,
    write_docker_archive,
)

ERROR = "slim: error: "


# --- running slim --------------------------------------------------------------------------------

def slim(*args: str, cwd: Path, tmpdir: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m slimmer ARGS` in `cwd`, with its own TMPDIR (so scratch files can be counted)."""
    env = dict(os.environ)
    if tmpdir is not None:
        tmpdir.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run([sys.executable, "-m", "slimmer", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed run, checked to be `slim: error: ...` and alone."""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{proc.stderr}"
    assert lines[0].startswith(ERROR), lines[0]
    assert "Traceback" not in proc.stderr
    return lines[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(directory: Path) -> list[str]:
    """Everything under a directory (hidden temporaries included), relative, sorted."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


# --- version, help, usage errors ----------------------------------------------------------------

def test_version(tmp_path):
    proc = slim("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"slim {slimmer.__version__}\n"
    assert proc.stderr == ""


def test_help_lists_commands_transports_and_examples(tmp_path):
    proc = slim("--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    out = proc.stdout
    assert out.startswith("usage: slim IMAGE [options] | slim {audit,trace,why} ...")
    for line in ("slim audit IMAGE [--json]", "slim trace IMAGE", "slim why IMAGE PATH",
                 "docker-archive:PATH[:REF]", "oci:DIR[:REF], oci-archive:PATH[:REF]", "docker-daemon:NAME[:TAG]"):
        assert line in out, line
    examples = out.split("examples:\n", 1)[1].splitlines()
    assert any(e.strip().startswith("slim audit ") for e in examples)
    assert any(e.strip().startswith("slim why ") for e in examples)
    for option in ("--output", "--tag", "--verify", "--include", "--exclude", "--entrypoint", "--debug"):
        assert option in out, option


@pytest.mark.parametrize("command, option", [("audit", "--json"), ("trace", "--from"), ("why", "PATH")])
def test_subcommand_help(tmp_path, command, option):
    proc = slim(command, "--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith(f"usage: slim {command} ")
    assert option in proc.stdout


@pytest.mark.parametrize("args, phrase", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["app:latest", "--bogus"], "unrecognized arguments: --bogus"),
    ([], "an IMAGE is required"),
    (["--quiet"], "an IMAGE is required"),
    (["audit"], "the following arguments are required: IMAGE"),
    (["audit", "--json"], "the following arguments are required: IMAGE"),
    (["audit", "app:latest", "--verify"], "unrecognized arguments: --verify"),
    (["trace"], "the following arguments are required: IMAGE"),
    (["why", "app:latest"], "the following arguments are required: PATH"),
    (["UPPER/Case:tag"], "invalid image reference 'UPPER/Case:tag'"),
    (["audit", "bad..name"], "invalid image reference 'bad..name'"),
    (["trace", "app:tag:extra"], "invalid image reference 'app:tag:extra'"),
    (["audit", "docker-archive:"], "docker-archive: needs a path"),
    (["audit", "oci:"], "oci: needs a path"),
    (["audit", "./missing.tar"], "no such file: './missing.tar'"),
    (["docker://x"], "registry references (docker://) are not supported"),
    (["audit", "docker://busybox:latest"], "registry references (docker://) are not supported"),
    (["why", "docker://x", "/bin/sh"], "registry references (docker://) are not supported"),
    (["audit", "dir:/some/where"], "transport 'dir' is not supported"),
    (["app:latest", "--tag", "a:b", "--output", "oci:z"], "give either --output or --tag, not both"),
    (["sha256:" + "a" * 64], "has no tag to derive the output name from: give --tag NAME:TAG or --output"),
    (["app@sha256:" + "b" * 64], "has no tag to derive the output name from"),
    (["app:latest", "--verify-timeout", "abc"], "argument --verify-timeout: invalid float value: 'abc'"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, args, phrase):
    work = tmp_path / "cwd"
    work.mkdir()
    proc = slim(*args, cwd=work, tmpdir=tmp_path / "tmp")
    assert proc.returncode == 2, proc.stderr
    assert phrase in one_error_line(proc)
    assert proc.stdout == ""
    assert listing(work) == [] and listing(tmp_path / "tmp") == []


# --- hostile and damaged images ----------------------------------------------------------------------

BASE = make_layer([("bin/app", File(b"\x7fELF stand-in", mode=0o755)), ("etc/a", b"hello\n")], parents=True)
TWO_FILES = make_layer([("a", b"x" * 5000), ("b", b"y" * 5000)])
CONFIG = {"Entrypoint": ["/bin/app"]}


def _absurd_size() -> bytes:
    """A member whose header claims 8 GiB (the checksum fixed, so only the size is a lie)."""
    data = bytearray(make_layer([("big", b"x" * 10)]))
    offset = data.find(b"big\0")
    assert offset % 512 == 0
    data[offset + 124:offset + 136] = b"77777777777\0"
    checksum = sum(data[offset:offset + 148]) + 8 * 32 + sum(data[offset + 156:offset + 512])
    data[offset + 148:offset + 156] = b"%06o\0 " % checksum
    return bytes(data)


def _damaged_header() -> bytes:
    data = bytearray(TWO_FILES)
    second = TWO_FILES.index(b"y" * 100)
    data[second - 512:second] = b"\x42" * 512  # the second member's header block
    return bytes(data)


def _archive(path: Path, top: bytes, **kwargs) -> Path:
    return write_docker_archive(path, [BASE, top], config_extra=CONFIG, **kwargs)


def _layer_member(archive: Path, n: int) -> tarfile.TarInfo:
    with tarfile.open(archive) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
        return tf.getmember(manifest[0]["Layers"][n])


def _replace_layer(archive: Path, n: int, data: bytes) -> None:
    """Rewrite the archive with layer `n`'s stored bytes replaced (the outer tar stays valid)."""
    name = _layer_member(archive, n).name
    buf = io.BytesIO()
    with tarfile.open(archive) as src, tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as out:
        for member in src:
            content = src.extractfile(member).read() if member.isfile() else None
            if member.name == name:
                content, member.size = data, len(data)
            out.addfile(member, io.BytesIO(content) if content is not None else None)
    archive.write_bytes(buf.getvalue())


def _zstd_archive(path: Path, damage) -> Path:
    _archive(path, TWO_FILES, compression="zstd")
    stored = compress(TWO_FILES, "zstd")
    _replace_layer(path, 1, damage(stored))
    return path


def _truncated_archive(path: Path) -> Path:
    """Cut in the middle of the second layer's data: the manifest and config are intact."""
    _archive(path, TWO_FILES)
    member = _layer_member(path, 1)
    data = path.read_bytes()
    path.write_bytes(data[:member.offset_data + member.size // 2])
    return path


HOSTILE = {
    # name: (builder(path) -> archive, phrase of the error)
    "entry-dotdot": (lambda p: _archive(p, make_layer([("../evil", b"x")])),
                     "entry '../evil' escapes the image root"),
    "entry-absolute-escaping": (lambda p: _archive(p, make_layer([("/../../etc/x", b"x")])),
                                "entry '/../../etc/x' escapes the image root"),
    "hardlink-escaping": (lambda p: _archive(p, make_layer([("link", Hardlink("../../etc/shadow"))])),
                          "'../../etc/shadow' escapes the image root"),
    "hardlink-to-missing": (lambda p: _archive(p, make_layer([("link", Hardlink("not/there"))])),
                            "hardlink '/link' points to '/not/there', which does not exist in the image"),
    "absurd-size": (lambda p: _archive(p, _absurd_size()),
                    "entry '/big' claims 8589934591 bytes, beyond the end of the layer"),
    "layer-cut-in-a-member": (lambda p: _archive(p, TWO_FILES[:1024]),
                              "entry '/a' claims 5000 bytes, beyond the end of the layer"),
    "layer-without-end-marker": (lambda p: _archive(p, TWO_FILES[:TWO_FILES.index(b"y" * 5000) + 5120]),
                                 "truncated tar (no end-of-archive marker)"),
    "layer-garbage": (lambda p: _archive(p, b"this is not a tar file at all" * 40),
                      "content is neither a tar nor gzip/zstd-compressed"),
    "layer-corrupt-header": (lambda p: _archive(p, _damaged_header()), "corrupt tar header at byte"),
    "diff-id-mismatch": (lambda p: write_docker_archive(p, SyntheticImage(
        [BASE, TWO_FILES], config_extra=CONFIG, diff_ids=[digest(BASE), digest(b"something else")])),
        f"diff_id mismatch (config says {digest(b'something else')}, content is {digest(TWO_FILES)})"),
    "archive-truncated": (_truncated_archive, "archive is truncated"),
    "zstd-corrupt": (lambda p: _zstd_archive(p, lambda z: z[:4] + b"\xff" * 200),
                     "corrupt zstd data: zstd decompressor error"),
    "zstd-truncated": (lambda p: _zstd_archive(p, lambda z: z[:len(z) // 2]),
                       "corrupt zstd data: compressed data ends early (truncated)"),
}

COMMANDS = {
    "audit": lambda src, out: ["audit", f"docker-archive:{src}"],
    "audit-json": lambda src, out: ["audit", f"docker-archive:{src}", "--json"],
    "slim-to-docker-archive": lambda src, out: [f"docker-archive:{src}",
                                                "--output", f"docker-archive:{out / 'OUT.tar'}"],
    "slim-to-oci": lambda src, out: [f"docker-archive:{src}", "--output", f"oci:{out / 'OUTDIR'}"],
    "trace": lambda src, out: ["trace", f"docker-archive:{src}", "--json"],
}


@pytest.fixture
def dirs(tmp_path):
    """src/ (the archive alone), out/ (where outputs go), tmp/ (TMPDIR), cwd/ (the working dir)."""
    names = ("src", "out", "tmp", "cwd")
    for name in names:
        (tmp_path / name).mkdir()
    return {name: tmp_path / name for name in names}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_input_fails_with_one_line_and_leaves_nothing(dirs, case, command):
    build, phrase = HOSTILE[case]
    source = build(dirs["src"] / "image.tar")
    before = sha256(source)
    proc = slim(*COMMANDS[command](source, dirs["out"]), cwd=dirs["cwd"], tmpdir=dirs["tmp"])
    assert proc.returncode == 1, proc.stderr
    line = one_error_line(proc)
    assert phrase in line, line
    assert proc.stdout == ""
    assert listing(dirs["out"]) == []  # no OUT.tar / OUTDIR, no .slim-tmp files
    assert listing(dirs["src"]) == ["image.tar"]  # nothing written beside the source
    assert listing(dirs["tmp"]) == [] and listing(dirs["cwd"]) == []  # scratch space cleaned up
    assert sha256(source) == before


@pytest.mark.parametrize("case", ["layer-garbage", "diff-id-mismatch", "zstd-corrupt",
                                  "entry-dotdot", "hardlink-to-missing"])
def test_hostile_layers_name_the_layer(dirs, case):
    """Each of these damages the second of two layers: every message calls it layer 2."""
    source = HOSTILE[case][0](dirs["src"] / "image.tar")
    line = one_error_line(slim("audit", f"docker-archive:{source}", cwd=dirs["cwd"]))
    assert re.match(rf"{ERROR}layer 2\b", line), line


def test_failure_keeps_an_existing_output(dirs):
    source = HOSTILE["hardlink-escaping"][0](dirs["src"] / "image.tar")
    existing = dirs["out"] / "OUT.tar"
    existing.write_bytes(b"the previous result\n")
    proc = slim(f"docker-archive:{source}", "--output", f"docker-archive:{existing}", cwd=dirs["cwd"],
                tmpdir=dirs["tmp"])
    assert proc.returncode == 1
    assert "escapes the image root" in one_error_line(proc)
    assert existing.read_bytes() == b"the previous result\n"
    assert listing(dirs["out"]) == ["OUT.tar"] and listing(dirs["tmp"]) == []


def test_debug_shows_the_traceback(dirs):
    source = HOSTILE["diff-id-mismatch"][0](dirs["src"] / "image.tar")
    plain = slim("audit", f"docker-archive:{source}", cwd=dirs["cwd"])
    proc = slim("audit", f"docker-archive:{source}", "--debug", cwd=dirs["cwd"], tmpdir=dirs["tmp"])
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert any(line.startswith("slimmer.errors.CorruptImageError: ") for line in lines)
    assert lines[-1] == one_error_line(plain)  # the same one line, after the traceback
    assert listing(dirs["tmp"]) == []


# --- a symlink loop where the entrypoint should be: a warning, not a failure --------------------------

@pytest.fixture
def loop_image(dirs):
    top = make_layer([("bin/app", Symlink("/bin/app2")), ("bin/app2", Symlink("app"))])
    return _archive(dirs["src"] / "loop.tar", top)


def test_symlink_loop_entrypoint_audit_succeeds(loop_image, dirs):
    proc = slim("audit", f"docker-archive:{loop_image}", "--json", cwd=dirs["cwd"], tmpdir=dirs["tmp"])
    assert proc.returncode == 0 and proc.stderr == ""
    report = json.loads(proc.stdout)
    assert [(l["added"], l["changed"], l["removed"]) for l in report["layers"]] == [(2, 0, 0), (1, 1, 0)]
    assert report["file_count"] == 3  # /bin/app, /bin/app2, /etc/a
    assert report["wasted_bytes"] == len(b"\x7fELF stand-in")  # the program the symlink replaced


def test_symlink_loop_entrypoint_slim_warns_and_writes(loop_image, dirs):
    before = sha256(loop_image)
    out = dirs["out"] / "OUT.tar"
    proc = slim(f"docker-archive:{loop_image}", "--output", f"docker-archive:{out}", cwd=dirs["cwd"],
                tmpdir=dirs["tmp"])
    assert proc.returncode == 0, proc.stderr
    warnings = proc.stderr.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and "too many levels of symbolic links resolving /bin/app" in warnings[0], proc.stderr
    assert "Traceback" not in proc.stderr and ERROR not in proc.stderr
    assert f"wrote {out} (docker-archive" in proc.stdout
    assert listing(dirs["out"]) == ["OUT.tar"] and listing(dirs["tmp"]) == []
    assert sha256(loop_image) == before
    with open_analysis(f"docker-archive:{out}") as opened:
        # Nothing runnable, nothing kept: only the /tmp every slim image gets.
        assert [e.path for e in opened.fs.entries()] == ["/", "/tmp"]


def test_symlink_loop_entrypoint_trace_and_why(loop_image, dirs):
    proc = slim("trace", f"docker-archive:{loop_image}", "--json", cwd=dirs["cwd"])
    assert proc.returncode == 0, proc.stderr
    traced = json.loads(proc.stdout)
    assert [w for w in traced["warnings"] if "too many levels of symbolic links resolving /bin/app" in w["message"]], traced["warnings"]
    assert not [f for f in traced["files"] if f["path"].startswith("/bin")]
    proc = slim("why", f"docker-archive:{loop_image}", "/bin/app", cwd=dirs["cwd"])
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("/bin/app is not needed: it cannot be resolved (too many levels of symbolic links")


# --- a good image: a static program as the entrypoint ------------------------------------------------

# Static glibc still reads /etc/nsswitch.conf to look users up: a kept file whose reason is the
# static binary, so `slim why` has a chain of two.
STATIC_SOURCE = r"""
#include <stdio.h>
#include <pwd.h>
int main(void) {
    struct passwd *pw = getpwuid(0);
    printf("hello from slimmer, uid 0 is %s\n", pw ? pw->pw_name : "unknown");
    return 0;
}
"""
PROGRAM = "/usr/local/bin/hello"
KEPT = ["/", "/etc/group", "/etc/nsswitch.conf", "/etc/passwd", PROGRAM]  # what the trace keeps
# ...and what the slim image holds: their parent directories and the /tmp every slim image gets.
SLIM_FILES = sorted(KEPT + ["/etc", "/tmp", "/usr", "/usr/local", "/usr/local/bin"])


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """{"archive": docker-archive of the image, "binary": the static program's bytes}."""
    d = tmp_path_factory.mktemp("good")
    try:
        binary = compile_static(d / "hello", STATIC_SOURCE).read_bytes()
    except RuntimeError as e:
        requires.unavailable(str(e))
    base = make_layer([
        (PROGRAM.lstrip("/"), File(binary, mode=0o755)),
        ("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"), ("etc/group", b"root:x:0:\n"),
        ("etc/nsswitch.conf", b"passwd: files\ngroup: files\n"),
        ("usr/share/doc/junk.txt", b"junk" * 1000), ("usr/lib/x86_64-linux-gnu/libunused.so.1", b"\x7fELF unused"),
    ], parents=True)
    src = d / "src"
    src.mkdir()
    archive = write_docker_archive(src / "good.tar", [base], config_extra={"Entrypoint": [PROGRAM]},
                                   tags=["good:latest"])
    return {"archive": archive, "binary": binary}


def _kept_files(reference: str) -> dict[str, tuple]:
    with open_analysis(reference) as opened:
        return {e.path: (e.type, e.mode, hashlib.sha256(opened.fs.read(e)).hexdigest() if e.is_file else None)
                for e in opened.fs.entries()}


@pytest.mark.parametrize("sink", ["docker-archive", "oci", "oci-archive"])
def test_good_image_slims(good, dirs, sink):
    source = good["archive"]
    before = sha256(source)
    out = dirs["out"] / ("OUTDIR" if sink == "oci" else "OUT.tar")
    proc = slim(f"docker-archive:{source}", "--output", f"{sink}:{out}", cwd=dirs["cwd"], tmpdir=dirs["tmp"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no warnings
    summary, wrote = proc.stdout.splitlines()
    assert summary.startswith(f"docker-archive:{source}: ") and f"{len(KEPT)} paths kept" in summary
    assert wrote.startswith(f"wrote {out}") and f"({sink}, " in wrote
    assert [p for p in listing(dirs["out"]) if "/" not in p] == [out.name]
    assert listing(dirs["tmp"]) == [] and sha256(source) == before
    files = _kept_files(f"{sink}:{out}")
    assert sorted(files) == SLIM_FILES
    assert files["/tmp"][:2] == (EntryType.DIR, 0o1777)
    assert files[PROGRAM] == (EntryType.FILE, 0o755, hashlib.sha256(good["binary"]).hexdigest())


def test_good_image_default_output_is_beside_the_source(good, dirs):
    proc = slim(f"docker-archive:{good['archive']}", cwd=dirs["cwd"], tmpdir=dirs["tmp"])
    assert proc.returncode == 0, proc.stderr
    written = good["archive"].with_name("good.slim.tar")
    try:
        assert f"wrote {written} (docker-archive, untagged, " in proc.stdout
        assert sorted(_kept_files(f"docker-archive:{written}")) == SLIM_FILES
    finally:
        written.unlink(missing_ok=True)


def test_good_image_output_errors(good, dirs):
    missing = dirs["out"] / "no" / "such" / "OUT.tar"
    proc = slim(f"docker-archive:{good['archive']}", "--output", f"docker-archive:{missing}", cwd=dirs["cwd"],
                tmpdir=dirs["tmp"])
    assert proc.returncode == 1
    assert f"directory {missing.parent} does not exist" in one_error_line(proc)
    proc = slim(f"docker-archive:{good['archive']}", "--output", "docker://registry/x:1", cwd=dirs["cwd"],
                tmpdir=dirs["tmp"])
    assert proc.returncode == 2
    assert "registry references (docker://) are not supported" in one_error_line(proc)
    protected = slim(f"docker-archive:{good['archive']}", "--output", f"docker-archive:{good['archive']}",
                     cwd=dirs["cwd"], tmpdir=dirs["tmp"])
    assert protected.returncode == 1
    assert "refusing to overwrite" in one_error_line(protected)
    assert listing(dirs["out"]) == [] and listing(dirs["tmp"]) == []
    assert listing(good["archive"].parent) == ["good.tar"]


STATIC_ROOT = (f"{PROGRAM}: ENTRYPOINT/CMD; static 64-bit x86_64 executable: no interpreter, loads no shared "
               "libraries; static glibc binary: NSS modules other than files/dns are dlopened at run time and need "
               "the shared libc of the same glibc version\n")


def test_good_image_trace_json(good, dirs):
    proc = slim("trace", f"docker-archive:{good['archive']}", "--json", cwd=dirs["cwd"], tmpdir=dirs["tmp"])
    assert proc.returncode == 0 and proc.stderr == ""
    traced = json.loads(proc.stdout)
    assert traced["warnings"] == [] and traced["excluded"] == []
    files = traced["files"]
    assert all({"path", "type", "size", "reason", "via"} <= set(f) for f in files)
    assert [f["path"] for f in files] == KEPT
    by_path = {f["path"]: f for f in files}
    program = {key: by_path[PROGRAM].get(key) for key in ("type", "size", "reason", "via", "kind")}
    assert program == {"type": "file", "size": len(good["binary"]), "reason": STATIC_ROOT.split(": ", 1)[1].rstrip(), "via": None,
                       "kind": "elf"}  # a root
    # What the static program itself needs: the NSS configuration, because it is static.
    assert by_path["/etc/nsswitch.conf"]["reason"] == f"static binary {PROGRAM} reads it"
    assert by_path["/etc/nsswitch.conf"]["via"] == PROGRAM
    assert by_path["/etc/passwd"]["via"] is None and by_path["/etc/passwd"]["reason"].startswith("user database")
    assert listing(dirs["tmp"]) == []


def test_good_image_trace_says_the_program_is_static(good, dirs):
    proc = slim("trace", f"docker-archive:{good['archive']}", "--json", cwd=dirs["cwd"])
    program = {f["path"]: f for f in json.loads(proc.stdout)["files"]}[PROGRAM]
    assert program["via"] is None and "static" in program["reason"]


@pytest.mark.parametrize("path, expected", [
    ("/etc/nsswitch.conf", f"{STATIC_ROOT}  /etc/nsswitch.conf: static binary {PROGRAM} reads it\n"),
    (PROGRAM, STATIC_ROOT),
    ("usr/local/bin/hello", STATIC_ROOT),  # relative to the image root
    ("/usr/share/doc/junk.txt", "/usr/share/doc/junk.txt is not needed: nothing the container runs requires it\n"),
    ("/usr/lib/x86_64-linux-gnu/libunused.so.1",
     "/usr/lib/x86_64-linux-gnu/libunused.so.1 is not needed: nothing the container runs requires it\n"),
    ("/no/such/file", "/no/such/file is not in the image\n"),
])
def test_good_image_why(good, dirs, path, expected):
    proc = slim("why", f"docker-archive:{good['archive']}", path, cwd=dirs["cwd"])
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == expected


def test_good_image_slim_runs(good, dirs, docker_client):
    """The slim image of the static program, loaded into Docker, runs and finds root in /etc/passwd."""
    out = dirs["out"] / "OUT.tar"
    tag = "slimmer-clitest/good:slim"
    proc = slim(f"docker-archive:{good['archive']}", "--output", f"docker-archive:{out}:{tag}", cwd=dirs["cwd"])
    assert proc.returncode == 0, proc.stderr
    with open(out, "rb") as f:
        docker_client.images.load(f)
    try:
        output = docker_client.containers.run(tag, remove=True, network_mode="none")
        assert output == b"hello from slimmer, uid 0 is root\n"
    finally:
        docker_client.images.remove(tag, force=True)
