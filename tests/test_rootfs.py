"""The merged root filesystem: OCI whiteout rules, links, chroot-confined lookups, hostile layers."""

from __future__ import annotations

import io
import tarfile
import tracemalloc

import pytest

from slimmer.errors import CorruptImageError
from slimmer.rootfs.entry import EntryType
from slimmer.rootfs.filekind import FileKind, classify, shebang
from slimmer.rootfs.fs import SymlinkLoopError

from imagefactory import Device, Fifo, File, Hardlink, Opaque, Symlink, Whiteout, make_layer, merged_rootfs

merged = merged_rootfs


def paths(result) -> list[str]:
    return [e.path for e in result.rootfs.entries()]


def test_whiteout_removes_lower_file_and_directory_subtree(tmp_path):
    result = merged(tmp_path,
                    make_layer(["etc/", ("etc/a", b"A"), ("etc/b", b"B"), "var/", "var/cache/", ("var/cache/x", b"12345")]),
                    make_layer([("etc/a", Whiteout()), ("var/cache", Whiteout())]))
    assert paths(result) == ["/", "/etc", "/etc/b", "/var"]
    assert result.layers[1].removed == 2  # etc/a and var/cache/x (directories are not counted)
    assert result.layers[1].hidden_bytes == 6
    assert result.wasted_bytes == 6


def test_whiteout_never_affects_its_own_layer(tmp_path):
    # The layer both re-creates etc/a and whites it out: only the lower copy goes.
    result = merged(tmp_path,
                    make_layer(["etc/", ("etc/a", b"old")]),
                    make_layer([("etc/a", b"new"), ("etc/a", Whiteout())]))
    fs = result.rootfs
    assert fs.read(fs.get("/etc/a")) == b"new"


def test_opaque_directory_hides_lower_siblings_wherever_the_marker_stands(tmp_path):
    lower = make_layer(["app/", ("app/old1", b"1"), "app/sub/", ("app/sub/old2", b"22"), ("keep", b"k")])
    # The marker comes after the new child in tar order: it still applies to lower layers only.
    upper = make_layer(["app/", ("app/new", b"n"), ("app", Opaque())])
    result = merged(tmp_path, lower, upper)
    assert paths(result) == ["/", "/app", "/app/new", "/keep"]
    assert result.layers[1].removed == 2


def test_directory_replaced_by_file_and_back(tmp_path):
    result = merged(tmp_path,
                    make_layer(["d/", ("d/inner", b"xyz")]),
                    make_layer([("d", b"now a file")]),
                    make_layer(["d/", ("d/again", b"1")]))
    fs = result.rootfs
    assert paths(result) == ["/", "/d", "/d/again"]
    assert fs.get("/d").type is EntryType.DIR
    assert result.layers[1].hidden_bytes == 3 and result.layers[2].hidden_bytes == len(b"now a file")


def test_hardlinks_in_the_same_layer_and_to_lower_layers_keep_their_content(tmp_path):
    result = merged(tmp_path,
                    make_layer(["bin/", ("bin/a", File(b"shared", mode=0o755)), ("bin/b", Hardlink("bin/a"))]),
                    make_layer([("bin/c", Hardlink("bin/a")), ("bin/a", Whiteout())]))
    fs = result.rootfs
    b, c = fs.get("/bin/b"), fs.get("/bin/c")
    assert fs.get("/bin/a") is None
    assert fs.read(b) == fs.read(c) == b"shared"
    assert b.hardlink_of == "/bin/a" and b.content_key == c.content_key
    assert result.layers[0].size == len(b"shared")  # hardlinked content counted once, as Docker does


def test_symlinks_resolve_inside_the_image_root(tmp_path):
    result = merged(tmp_path, make_layer([
        "usr/", "usr/lib/", ("usr/lib/libc.so.6", b"\x7fELF"),
        ("lib", Symlink("usr/lib")),
        ("lib64", Symlink("/usr/lib")),
        ("escape", Symlink("../../../../usr/lib/libc.so.6")),
        ("abs", Symlink("/../../lib/libc.so.6")),
        ("dangling", Symlink("/nowhere/x")),
    ]))
    fs = result.rootfs
    for start in ("/lib/libc.so.6", "/lib64/libc.so.6", "/escape", "/abs"):
        assert fs.resolve(start).path == "/usr/lib/libc.so.6"
    assert fs.resolve("/abs").symlinks == ("/abs", "/lib")
    # As in the kernel, ".." after a symlinked directory is the parent of its target: /usr.
    assert fs.resolve("/lib/../lib/libc.so.6").path == "/usr/lib/libc.so.6"
    assert fs.resolve("/lib/../lib64/libc.so.6") == type(fs.resolve("/"))("/usr/lib64/libc.so.6", None, ("/lib",))
    missing = fs.resolve("/dangling")
    assert missing.entry is None and missing.symlinks == ("/dangling",)
    assert fs.resolve("/lib", follow_last=False).entry.type is EntryType.SYMLINK
    assert fs.glob("/lib/lib*.so.*") == ["/lib/libc.so.6"]


def test_symlink_loop_ends_with_a_clear_error(tmp_path):
    fs = merged(tmp_path, make_layer([("a", Symlink("b")), ("b", Symlink("/a"))])).rootfs
    with pytest.raises(SymlinkLoopError, match="too many levels of symbolic links resolving /a/x"):
        fs.resolve("/a/x")


def test_devices_and_fifos_are_metadata(tmp_path):
    fs = merged(tmp_path, make_layer(["dev/", ("dev/null", Device(1, 3)), ("run-fifo", Fifo())])).rootfs
    null = fs.get("/dev/null")
    assert (null.type, null.devmajor, null.devminor) == (EntryType.CHAR, 1, 3)
    assert fs.get("/run-fifo").type is EntryType.FIFO


def test_layer_statistics_count_like_docker(tmp_path):
    result = merged(tmp_path,
                    make_layer(["etc/", ("etc/a", b"12345"), ("etc/l", Symlink("a"))]),
                    make_layer(["etc/", ("etc/a", b"1"), ("etc/new", b"22")]))
    first, second = result.layers
    assert (first.added, first.changed, first.removed, first.size) == (2, 0, 0, 5 + 1)
    assert (second.added, second.changed, second.removed, second.size) == (1, 1, 0, 3)
    assert second.hidden_bytes == 5


def test_capability_xattrs_are_kept(tmp_path):
    fs = merged(tmp_path, make_layer([("ping", File(b"x", mode=0o4755, xattrs={"security.capability": "caps"}))])).rootfs
    entry = fs.get("/ping")
    assert entry.mode == 0o4755 and entry.xattrs == {"security.capability": "caps"}


def test_content_classification_reads_only_the_head(tmp_path):
    fs = merged(tmp_path, make_layer([
        ("elf", b"\x7fELF\x02\x01\x01" + b"\0" * 100),
        ("script", b"#!/usr/bin/env -S bash -e\necho hi\n"),
        ("mod.pyc", b"\xa7\x0d\x0d\x0a" + b"\0" * 12),
        ("archive.gz", b"\x1f\x8b\x08\x00" + b"\0" * 20),
        ("readme", b"hello world, this is plain text\n"),
        ("empty", b""),
    ])).rootfs
    kinds = {e.path: classify(fs, e) for e in fs.entries() if e.type is EntryType.FILE}
    assert kinds == {"/elf": FileKind.ELF, "/script": FileKind.SCRIPT, "/mod.pyc": FileKind.PYTHON_BYTECODE,
                     "/archive.gz": FileKind.ARCHIVE, "/readme": FileKind.TEXT, "/empty": FileKind.EMPTY}
    assert shebang(fs, fs.get("/script")) == ["/usr/bin/env", "-S bash -e"]


# -- hostile and corrupt layers -------------------------------------------------------------

def _raw_tar(name: str, *, linkname: str = "", kind: bytes = tarfile.REGTYPE, data: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        if kind == tarfile.LNKTYPE:
            tf.addfile(tarfile.TarInfo("target"), io.BytesIO(b""))
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, linkname, len(data)
        tf.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


@pytest.mark.parametrize("layer, message", [
    (_raw_tar("../evil"), "entry '../evil' escapes the image root"),
    (_raw_tar("a/../../evil"), "entry 'a/../../evil' escapes the image root"),
    (_raw_tar("/../../etc/passwd"), "entry '/../../etc/passwd' escapes the image root"),
    (_raw_tar("link", linkname="../../etc/shadow", kind=tarfile.LNKTYPE), "escapes the image root"),
    (_raw_tar("link", linkname="not/there", kind=tarfile.LNKTYPE),
     "hardlink '/link' points to '/not/there', which does not exist in the image"),
])
def test_hostile_entries_are_refused(tmp_path, layer, message):
    with pytest.raises(CorruptImageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        merged(tmp_path, layer)


def test_absurd_size_is_refused(tmp_path):
    data = bytearray(make_layer([("big", b"x" * 10)]))
    offset = data.find(b"big\0")  # the member's header block
    assert offset % 512 == 0
    size_field = slice(offset + 124, offset + 136)
    data[size_field] = b"77777777777\0"
    checksum = sum(data[offset:offset + 148]) + 8 * 32 + sum(data[offset + 156:offset + 512])
    data[offset + 148:offset + 156] = b"%06o\0 " % checksum
    with pytest.raises(CorruptImageError, match="claims 8589934591 bytes, beyond the end of the layer"):
        merged(tmp_path, bytes(data))


def test_truncated_and_garbage_layers_are_refused(tmp_path):
    layer = make_layer([("a", b"x" * 5000), ("b", b"y" * 5000)])
    with pytest.raises(CorruptImageError, match="layer 1: "):
        merged(tmp_path, layer[:1024])
    with pytest.raises(CorruptImageError, match="truncated tar"):
        merged(tmp_path, layer[: layer.index(b"y" * 5000) + 5120])  # cut right after the last member
    with pytest.raises(CorruptImageError, match=r"not a valid tar archive|corrupt tar"):
        merged(tmp_path, b"this is not a tar file at all" * 40)
    damaged = bytearray(layer)
    second = layer.index(b"y" * 100)
    damaged[second - 512: second] = b"\x42" * 512  # the second member's header block
    with pytest.raises(CorruptImageError, match="corrupt tar"):
        merged(tmp_path, bytes(damaged))


def test_index_memory_is_proportional_to_file_count_not_size(tmp_path):
    """50,000 files: the index stays far below 500 MB (content is never loaded)."""
    entries = [f"d{i}/" for i in range(100)]
    entries += [(f"d{i % 100}/f{i}", b"z" * 64) for i in range(50_000)]
    layer = make_layer(entries)
    tracemalloc.start()
    result = merged(tmp_path, layer)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(result.rootfs) == 50_000 + 100 + 1
    assert peak < 100 * 1024 * 1024, f"indexing 50,000 files peaked at {peak / 1e6:.0f} MB"


def test_names_decide_before_libmagic_but_never_over_magic_numbers(tmp_path, monkeypatch):
    import slimmer.rootfs.filekind as filekind

    fs = merged(tmp_path, make_layer([("doc/notes.txt", b"\x00\x01 not really text"), ("lib/fake.png", b"#!/bin/sh\n"),
                                      ("share/icon.png", b"\x89PNG\r\n\x1a\n....")])).rootfs
    monkeypatch.setattr(filekind, "_classify_with_libmagic", lambda head: pytest.fail("libmagic was asked"))
    assert classify(fs, fs.get("/doc/notes.txt")) is FileKind.TEXT
    assert classify(fs, fs.get("/lib/fake.png")) is FileKind.SCRIPT  # content beats the name
    assert classify(fs, fs.get("/share/icon.png")) is FileKind.DATA
