"""Pieces of the ELF tracer against independent references: the reader against pyelftools on
the host's own files, the ld.so.cache parser against `ldconfig -p` on caches ldconfig wrote in
each format, and the path-list and nsswitch.conf parsers on known inputs."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile

from slimmer.trace.elf import extras
from slimmer.trace.elf.arch import ARCHES, Rules
from slimmer.trace.elf.ldcache import parse_ldcache
from slimmer.trace.elf.ldconf import read_ldconf
from slimmer.trace.elf.reader import ElfError, parse_elf
from slimmer.trace.elf.tokens import expand_glibc, expand_musl

from elfhelpers import HOST_LIBDIR, GlibcRoot, need_tool, rootfs_from_dir


def host_elf_files(limit: int = 400) -> list[str]:
    files = []
    for pattern in ("/usr/bin/*", f"{HOST_LIBDIR}/*.so*", f"{HOST_LIBDIR}/gconv/*.so"):
        for f in sorted(glob.glob(pattern)):
            if os.path.isfile(f) and not os.path.islink(f):
                with open(f, "rb") as fh:
                    if fh.read(4) == b"\x7fELF":
                        files.append(f)
    return files[:limit] + files[-limit:]


def test_reader_agrees_with_pyelftools_on_host_files():
    checked = 0
    for path in host_elf_files():
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            info = parse_elf(lambda off, size: data[off:off + size], len(data))
        except ElfError:
            continue
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            needed, rpath, runpath, soname, interp = [], None, None, None, None
            for seg in elf.iter_segments():
                if seg["p_type"] == "PT_INTERP":
                    interp = seg.get_interp_name()
            for section in elf.iter_sections():
                if isinstance(section, DynamicSection):
                    for tag in section.iter_tags():
                        kind = tag.entry.d_tag
                        if kind == "DT_NEEDED":
                            needed.append(tag.needed)
                        elif kind == "DT_RPATH":
                            rpath = tag.rpath
                        elif kind == "DT_RUNPATH":
                            runpath = tag.runpath
                        elif kind == "DT_SONAME":
                            soname = tag.soname
            dynsym = elf.get_section_by_name(".dynsym")
            undefined = {s.name for s in dynsym.iter_symbols() if s["st_shndx"] == "SHN_UNDEF" and s.name} if dynsym else set()
            assert (info.interp, info.needed, info.rpath, info.runpath, info.soname) == \
                   (interp, tuple(needed), rpath, runpath, soname), path
            assert info.undefined == undefined, path
            assert info.elf_class == elf.elfclass and info.machine_name == {"EM_X86_64": "x86_64"}.get(elf["e_machine"], info.machine_name)
        checked += 1
    assert checked > 100


def test_reader_counts_symbols_without_section_headers(tmp_path):
    """Stripped of section headers, the dynsym size comes from DT_GNU_HASH / DT_HASH."""
    src = HOST_LIBDIR / "libz.so.1"
    data = bytearray(src.resolve().read_bytes())
    full = parse_elf(lambda off, size: bytes(data[off:off + size]), len(data))
    data[0x28:0x30] = b"\0" * 8  # e_shoff = 0
    data[0x3C:0x3E] = b"\0\0"  # e_shnum = 0
    bare = parse_elf(lambda off, size: bytes(data[off:off + size]), len(data))
    assert bare.needed == full.needed and bare.soname == full.soname
    assert bare.undefined == full.undefined and "free" in bare.undefined


def _ldconfig_p(cache: Path) -> list[tuple[str, str, str | None]]:
    out = subprocess.run(["ldconfig", "-p", "-C", str(cache)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[1:]:
        m = re.match(r'\s*(\S+) \(([^)]*)\) => (\S+)', line)
        if m:
            hw = re.search(r'hwcap: "([^"]+)"', m.group(2))
            rows.append((m.group(1), m.group(3), hw.group(1) if hw else None))
    return rows


@pytest.mark.parametrize("fmt", ["new", "compat", "old"])
def test_ldcache_parser_matches_ldconfig(fmt, tmp_path):
    need_tool("gcc")
    root = GlibcRoot(tmp_path / "root")
    root.copy_host_lib("libz.so.1")
    os.symlink("libz.so.1", root.path("/usr/lib/x86_64-linux-gnu/libz.so"))
    root.compile("leaf.c", "/usr/lib/x86_64-linux-gnu/libhw.so", shared=True)
    root.compile("leaf.c", "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libhw.so", shared=True)
    root.compile("leaf.c", "/usr/local/lib/liblocal.so.7", "-Wl,-soname,liblocal.so.7", shared=True)
    subprocess.run(["ldconfig", "-r", str(root.root), "-c", fmt], check=True, capture_output=True)
    cache_file = root.path("/etc/ld.so.cache")
    cache = parse_ldcache(cache_file.read_bytes())
    assert cache.format == {"new": "new", "compat": "old+new", "old": "old"}[fmt]
    ours = [(e.key, e.path, e.hwcaps_subdir) for e in cache.entries]
    theirs = _ldconfig_p(cache_file)
    if fmt == "compat":
        # ldconfig -p misreads the hwcaps names of compat files (ldconfig wrote their offsets from
        # the new table, -p counts them from the file start): compare keys and paths there
        ours, theirs = [r[:2] for r in ours], [r[:2] for r in theirs]
        assert ("x86-64-v3" in {e.hwcaps_subdir for e in cache.entries})
    assert ours == theirs
    if fmt == "new":
        assert ("libhw.so", "/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libhw.so", "x86-64-v3") in ours
    assert {e.flags for e in cache.entries} <= ARCHES[(62, 64)].cache_flags


def test_ldconf_includes_globs_relative_and_absolute(tmp_path):
    root = tmp_path / "root"
    (root / "etc/ld.so.conf.d").mkdir(parents=True)
    (root / "etc/ld.so.conf").write_text("# comment\n/opt/first\ninclude ld.so.conf.d/*.conf\ninclude /etc/extra.conf\n")
    (root / "etc/ld.so.conf.d/b.conf").write_text("/opt/b:/opt/b2, /opt/b3\n")
    (root / "etc/ld.so.conf.d/a.conf").write_text("/opt/a   # trailing comment\nhwcap 0 nosegneg\n")
    (root / "etc/extra.conf").write_text("/opt/extra/\ninclude /etc/ld.so.conf\n")  # a loop is cut
    fs = rootfs_from_dir(root, tmp_path)
    assert read_ldconf(fs) == ["/opt/first", "/opt/a", "/opt/b", "/opt/b2", "/opt/b3", "/opt/extra"]


def _rules(dirs=("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib")) -> Rules:
    return Rules("glibc", ARCHES[(62, 64)], 64, "little", 62, "/lib64/ld-linux-x86-64.so.2", dirs, "test",
                 dirs[0].strip("/"))


def test_glibc_dynamic_string_tokens():
    r = _rules()
    def dirs(spec, origin="/opt/app/bin"):
        return [d for d, _ in expand_glibc(spec, origin, r, "/work")]
    assert dirs("$ORIGIN/../lib:${ORIGIN}/x") == ["/opt/app/bin/../lib", "/opt/app/bin/x"]
    assert dirs("/a/$LIB:/b/${LIB}/c") == ["/a/lib/x86_64-linux-gnu", "/b/lib/x86_64-linux-gnu/c"]
    assert dirs("/p/$PLATFORM") == ["/p/x86_64", "/p/haswell", "/p/xeon_phi"]
    assert dirs("/lit/$ORIGINAL/x") == ["/lit/$ORIGINAL/x"]  # not a token: copied as written
    assert dirs("$ORIGIN/lib:/kept", origin=None) == ["/kept"]  # unknown origin: element dropped
    assert dirs("rel:/abs/:") == ["/work/rel", "/abs", "/work"]  # relative and empty: the cwd
    assert dirs("/a;/b") == ["/a;/b"] and [d for d, _ in expand_glibc("/a;/b", None, r, "/", ":;")] == ["/a", "/b"]


def test_musl_rpath_tokens():
    assert expand_musl("$ORIGIN/../lib:${ORIGIN}", "/o", "/") == ["/o/../lib", "/o"]
    assert expand_musl("/a:$LIB/x", "/o", "/") == []  # any other '$' voids musl's whole rpath
    assert expand_musl("/a\n/b::/c", None, "/") == ["/a", "/b", "/c"]


def test_nsswitch_parser():
    text = """# comment
passwd:         files systemd
group:          files [SUCCESS=merge] sss
hosts:          files mdns4_minimal [NOTFOUND = return] dns myhostname
netgroup:       nis
"""
    conf = extras.parse_nsswitch(text)
    assert conf["passwd"] == ("files", "systemd")
    assert conf["group"] == ("files", "sss")
    assert conf["hosts"] == ("files", "mdns4_minimal", "dns", "myhostname")
    assert conf["netgroup"] == ("nis",)


def test_host_ld_so_system_dirs_are_read_from_the_binary(tmp_path):
    """The compiled-in search path read from ld.so equals what `ld.so --help` prints."""
    from slimmer.rootfs.entry import Entry
    from slimmer.trace.elf.image import ImageLoader, _read_system_dirs

    help_text = subprocess.run(["/lib64/ld-linux-x86-64.so.2", "--help"], capture_output=True, text=True).stdout
    expected = tuple(re.findall(r"^\s+(/\S+) \(system search path\)$", help_text, re.M))
    root = tmp_path / "r"
    (root / "lib").mkdir(parents=True)
    shutil.copy2("/lib64/ld-linux-x86-64.so.2", root / "lib" / "ld.so")
    fs = rootfs_from_dir(root, tmp_path)
    entry = fs.get("/lib/ld.so")
    assert isinstance(entry, Entry)
    assert _read_system_dirs(ImageLoader(fs), entry) == expected == (
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib")
