"""The loader rules on small compiled fixtures, each checked against the real loader.

One root is built per module: a merged-/usr Debian layout holding the host's own glibc
(ld.so + libc.so.6), an /etc/ld.so.cache made by `ldconfig -r`, and fixture programs and
libraries compiled from tests/elf_fixtures/. For each rule the test asserts the exact traced
set, then compares with what the real loader does in a chroot of the same directory:
`ld.so --list`, LD_TRACE_LOADED_OBJECTS=1 through the kernel's exec (for $ORIGIN), or a run
printing every mapped object (dlopen, NSS, gconv, libgcc_s).
"""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from elfhelpers import (
    GLIBC_INTERP,
    HOST_LIBDIR,
    MUSL_INTERP,
    SHOW_MAPS,
    GlibcRoot,
    need_tool,
    real,
    rootfs_from_dir,
    trace,
)

D = "/usr/lib/x86_64-linux-gnu"
LD = "/lib/x86_64-linux-gnu"  # the same directory through the /lib symlink, as ld.so names it


def leaf(root: GlibcRoot, dest: str, value: int, func: str = "leaf", soname: str | None = None, *flags: str) -> str:
    extra = [f"-DLEAF={value}", f"-Dleaf={func}"]
    if soname:
        extra.append(f"-Wl,-soname,{soname}")
    return root.compile("leaf.c", dest, *extra, *flags, shared=True)


@pytest.fixture(scope="module")
def glibc_root(tmp_path_factory):
    need_tool("gcc")
    work = tmp_path_factory.mktemp("elfroot")
    root = GlibcRoot(work / "root")
    # RPATH vs RUNPATH: a chain exe -> libmid -> libleaf
    leaf(root, "/opt/rpath/libleaf.so", 2)
    leaf(root, f"{D}/libleaf.so", 1)
    root.compile("mid.c", "/opt/mid/libmid.so", "-lleaf", shared=True, libdirs=[D])
    root.compile("use_mid.c", "/usr/bin/rp", "-lmid", "-Wl,--disable-new-dtags,-rpath,/opt/rpath:/opt/mid",
                 libdirs=["/opt/mid", D])
    root.compile("use_mid.c", "/usr/bin/rn", "-lmid", "-Wl,--enable-new-dtags,-rpath,/opt/rpath:/opt/mid",
                 libdirs=["/opt/mid", D])
    # $ORIGIN through a symlinked executable; the decoy is where the symlink's directory would lead
    leaf(root, "/opt/app/lib/liborig.so", 3, "leaf")
    leaf(root, "/usr/local/lib/liborig.so", 4, "leaf")
    root.compile("use_leaf.c", "/opt/app/bin/tool", "-lorig", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib",
                 libdirs=["/opt/app/lib"])
    root.symlink("/usr/local/bin/tool", "/opt/app/bin/tool")
    # DF_1_NODEFLIB: neither cached system-dir paths nor system directories
    leaf(root, "/usr/local/lib/libloc.so", 5, "loc")
    (root.path("/opt/ndlib")).mkdir(parents=True)
    shutil.copy2(HOST_LIBDIR / "libc.so.6", root.path("/opt/ndlib/libc.so.6"))
    root.compile("int leaf(void); int loc(void); int main(void){return leaf()+loc()==0;}\n", "/usr/bin/nd",
                 "-lleaf", "-lloc", "-Wl,-z,nodefaultlib,--enable-new-dtags,-rpath,/opt/ndlib",
                 libdirs=[D, "/usr/local/lib"])
    root.compile("int loc(void); int main(void){return loc()==0;}\n", "/usr/bin/nd2",
                 "-lloc", "-Wl,-z,nodefaultlib,--enable-new-dtags,-rpath,/opt/ndlib", libdirs=["/usr/local/lib"])
    # a 32-bit and a foreign-machine library of the right name before the right one
    leaf(root, "/opt/m64/libshadow.so", 6, "shadow")
    shutil.copy2(root.path("/opt/m64/libshadow.so"), root.path("/opt/m64/arm.tmp"))
    (root.path("/opt/arm")).mkdir()
    data = bytearray(root.path("/opt/m64/arm.tmp").read_bytes())
    struct.pack_into("<H", data, 18, 183)  # e_machine = EM_AARCH64
    root.path("/opt/arm/libshadow.so").write_bytes(bytes(data))
    root.path("/opt/m64/arm.tmp").unlink()
    root.compile("leaf.c", "/opt/m32/libshadow.so", "-m32", "-nostdlib", "-Dleaf=shadow", shared=True)
    root.compile("int shadow(void); int main(void){return shadow()!=6;}\n", "/usr/bin/shadow", "-lshadow",
                 "-Wl,--disable-new-dtags,-rpath,/opt/arm:/opt/m32:/opt/m64", libdirs=["/opt/m64"])
    # LD_LIBRARY_PATH: after RPATH, before RUNPATH
    leaf(root, "/opt/envlib/libenvl.so", 7, "envl")
    leaf(root, "/opt/runp/libenvl.so", 8, "envl")
    root.compile("int envl(void); int main(void){return envl()==0;}\n", "/usr/bin/envrun", "-lenvl",
                 "-Wl,--enable-new-dtags,-rpath,/opt/runp", libdirs=["/opt/runp"])
    root.compile("int envl(void); int main(void){return envl()==0;}\n", "/usr/bin/envrpath", "-lenvl",
                 "-Wl,--disable-new-dtags,-rpath,/opt/runp", libdirs=["/opt/runp"])
    # $LIB and ${PLATFORM}
    leaf(root, "/opt/lib/x86_64-linux-gnu/libdst.so", 9, "dst")
    root.compile("int dst(void); int main(void){return dst()==0;}\n", "/usr/bin/dst", "-ldst",
                 "-Wl,--disable-new-dtags,-rpath,/opt/${PLATFORM}/x:/opt/$LIB",
                 libdirs=["/opt/lib/x86_64-linux-gnu"])
    # glibc-hwcaps variant next to the baseline
    leaf(root, f"{D}/libhw.so", 10, "hw")
    leaf(root, f"{D}/glibc-hwcaps/x86-64-v2/libhw.so", 11, "hw")
    root.compile("int hw(void); int main(void){return hw()==0;}\n", "/usr/bin/hw", "-lhw", libdirs=[D])
    # dlopen by literal name
    root.compile("plugdep.c", f"{D}/libplugdep.so", shared=True)
    root.compile("plug.c", f"{D}/libplug.so.1", "-lplugdep", "-Wl,-soname,libplug.so.1", shared=True, libdirs=[D])
    root.compile("dlopen_name.c", "/usr/bin/dl", SHOW_MAPS)
    # NSS: a module of our own, with a dependency of its own
    root.compile("nssdep.c", f"{D}/libnssdep.so", shared=True)
    root.compile("nss_mymod.c", f"{D}/libnss_mymod.so.2", "-lnssdep", "-Wl,-soname,libnss_mymod.so.2",
                 shared=True, libdirs=[D])
    root.compile("nss_user.c", "/usr/bin/nssuser", SHOW_MAPS)
    root.path("/etc/nsswitch.conf").write_text("passwd: files mymod\ngroup: files\nhosts: files dns\n")
    root.path("/etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    root.path("/etc/group").write_text("root:x:0:\n")
    # iconv: a gconv directory with one module and its helper library
    gconv = root.path(f"{D}/gconv")
    gconv.mkdir()
    for name in ("EUC-JP.so", "libJIS.so"):
        shutil.copy2(HOST_LIBDIR / "gconv" / name, gconv / name)
    (gconv / "gconv-modules").write_text("module EUC-JP// INTERNAL EUC-JP 1\nmodule INTERNAL EUC-JP// EUC-JP 1\n")
    root.compile("iconv_user.c", "/usr/bin/iconvuser", SHOW_MAPS)
    root.compile("iconv_locale.c", "/usr/bin/iconvlocale")
    root.compile("iconv_locale.c", "/usr/bin/iconv")  # named like iconv(1): charsets from its input
    # pthread_cancel: libgcc_s.so.1 is dlopened by glibc
    root.copy_host_lib("libgcc_s.so.1")
    root.compile("cancel.c", "/usr/bin/cancel", SHOW_MAPS)
    # a well-known library that loads plugins from a directory of its own, by the name its caller gives
    leaf(root, f"{D}/libcrypto.so.3", 20, "OSSL_PROVIDER_load", "libcrypto.so.3")
    leaf(root, f"{D}/ossl-modules/legacy.so", 21, "fake_provider")
    leaf(root, f"{D}/ossl-modules/fips.so", 22, "fake_provider")
    root.compile("#include <stdio.h>\nint OSSL_PROVIDER_load(void);\n"
                 "int main(void){puts(\"legacy\"); return OSSL_PROVIDER_load()==0;}\n", "/usr/bin/cryptouser",
                 "-l:libcrypto.so.3", libdirs=[D])
    # static-pie, and a static glibc program that reads NSS configuration
    root.compile("hello.c", "/usr/bin/hello-static-pie", "-static-pie")
    root.compile("nss_user.c", "/usr/bin/nss-static", "-static")
    root.ldconfig()
    return root, rootfs_from_dir(root.root, work)


def tree_of(fs, path, env=None, **kwargs):
    keep, tracer, ctx = trace(fs, [path], env, **kwargs)
    tree = tracer.trees[real(fs, path)]
    return keep, tree, ctx


def loaded(tree) -> set[str]:
    """What the tree says `ld.so --list` prints."""
    return set(tree.loader_paths())


def reals(fs, paths) -> set[str]:
    return {real(fs, p) for p in paths}


def test_rpath_is_inherited_down_the_chain(glibc_root):
    root, fs = glibc_root
    keep, tree, ctx = tree_of(fs, "/usr/bin/rp")
    assert loaded(tree) == {GLIBC_INTERP, "/opt/mid/libmid.so", "/opt/rpath/libleaf.so", f"{LD}/libc.so.6"}
    assert loaded(tree) == root.ld_list("/usr/bin/rp")
    reason = keep.reasons["/opt/rpath/libleaf.so"].text
    assert reason.startswith("DT_NEEDED libleaf.so of /opt/mid/libmid.so") and "RPATH of /usr/bin/rp" in reason
    assert f"{D}/libleaf.so" not in keep
    assert not ctx.warnings


def test_runpath_is_not_inherited(glibc_root):
    root, fs = glibc_root
    keep, tree, _ctx = tree_of(fs, "/usr/bin/rn")
    assert loaded(tree) == {GLIBC_INTERP, "/opt/mid/libmid.so", f"{LD}/libleaf.so", f"{LD}/libc.so.6"}
    assert loaded(tree) == root.ld_list("/usr/bin/rn")
    assert "/opt/rpath/libleaf.so" not in keep
    assert "ld.so.cache" in keep.reasons[f"{D}/libleaf.so"].text


def test_origin_of_a_symlinked_executable_is_its_real_directory(glibc_root):
    root, fs = glibc_root
    keep, tracer, _ctx = trace(fs, ["/usr/local/bin/tool"])
    tree = tracer.trees["/opt/app/bin/tool"]
    assert loaded(tree) == {GLIBC_INTERP, "/opt/app/bin/../lib/liborig.so", f"{LD}/libc.so.6"}
    assert "/opt/app/lib/liborig.so" in keep and "/usr/local/lib/liborig.so" not in keep
    assert "/usr/local/bin/tool" in keep  # the symlink the root went through
    # the kernel's exec: /proc/self/exe is the real path, so ld.so agrees
    assert loaded(tree) == root.ld_trace("/usr/local/bin/tool")


def test_nodeflib_skips_cached_system_paths_and_system_dirs(glibc_root):
    root, fs = glibc_root
    keep, tree, ctx = tree_of(fs, "/usr/bin/nd")
    assert loaded(tree) == {GLIBC_INTERP, "/opt/ndlib/libc.so.6", "/usr/local/lib/libloc.so"}
    # the real loader stops at the same name: nothing else it would find is missing from the set
    proc = root.run([GLIBC_INTERP, "--list", "/usr/bin/nd"])
    assert proc.returncode != 0 and "libleaf.so: cannot open shared object file" in proc.stderr
    assert f"{D}/libleaf.so" not in keep
    _k, tree2, _c = tree_of(fs, "/usr/bin/nd2")
    assert loaded(tree2) == {GLIBC_INTERP, "/opt/ndlib/libc.so.6", "/usr/local/lib/libloc.so"}
    assert loaded(tree2) == root.ld_list("/usr/bin/nd2")
    assert any("DT_NEEDED libleaf.so" in w.message and "DF_1_NODEFLIB" in w.message for w in ctx.warnings)


def test_wrong_class_and_machine_are_skipped(glibc_root):
    root, fs = glibc_root
    keep, tree, _ctx = tree_of(fs, "/usr/bin/shadow")
    assert loaded(tree) == {GLIBC_INTERP, "/opt/m64/libshadow.so", f"{LD}/libc.so.6"}
    assert loaded(tree) == root.ld_list("/usr/bin/shadow")
    reason = keep.reasons["/opt/m64/libshadow.so"].text
    assert "/opt/arm/libshadow.so (aarch64 machine)" in reason and "/opt/m32/libshadow.so (32-bit)" in reason
    assert "/opt/m32/libshadow.so" not in keep and "/opt/arm/libshadow.so" not in keep


def test_ld_library_path_from_the_image_env(glibc_root):
    root, fs = glibc_root
    env = {"LD_LIBRARY_PATH": "/opt/envlib"}
    _k, tree, _c = tree_of(fs, "/usr/bin/envrun", env)
    assert "/opt/envlib/libenvl.so" in loaded(tree)  # before RUNPATH
    assert loaded(tree) == root.ld_list("/usr/bin/envrun", env)
    _k, tree, _c = tree_of(fs, "/usr/bin/envrun")
    assert "/opt/runp/libenvl.so" in loaded(tree)
    _k, tree, _c = tree_of(fs, "/usr/bin/envrpath", env)
    assert "/opt/runp/libenvl.so" in loaded(tree)  # RPATH before LD_LIBRARY_PATH
    assert loaded(tree) == root.ld_list("/usr/bin/envrpath", env)


def test_lib_and_platform_tokens(glibc_root):
    root, fs = glibc_root
    _keep, tree, _ctx = tree_of(fs, "/usr/bin/dst")
    assert "/opt/lib/x86_64-linux-gnu/libdst.so" in loaded(tree)
    assert loaded(tree) == root.ld_list("/usr/bin/dst")


def test_hwcaps_variants_are_kept_with_the_baseline(glibc_root):
    root, fs = glibc_root
    keep, tree, _ctx = tree_of(fs, "/usr/bin/hw")
    variants = [i for i in tree.items if i.category == "hwcaps"]
    assert {i.path for i in variants} >= {f"{LD}/glibc-hwcaps/x86-64-v2/libhw.so"}
    assert all("CPU is unknown statically" in i.reason for i in variants)
    assert f"{D}/libhw.so" in keep and f"{D}/glibc-hwcaps/x86-64-v2/libhw.so" in keep
    # whichever the host CPU picks is in the traced set
    assert reals(fs, root.ld_list("/usr/bin/hw")) <= set(keep.reasons)


def test_dlopen_by_literal_name(glibc_root):
    root, fs = glibc_root
    keep, _tree, _ctx = tree_of(fs, "/usr/bin/dl")
    assert keep.reasons[f"{D}/libplug.so.1"].text.startswith("dlopen name 'libplug.so.1' in /usr/bin/dl")
    assert "DT_NEEDED libplugdep.so of" in keep.reasons[f"{D}/libplugdep.so"].text
    assert reals(fs, root.run_maps("/usr/bin/dl")) <= set(keep.reasons)


def test_nss_modules_and_files(glibc_root):
    root, fs = glibc_root
    keep, _tree, _ctx = tree_of(fs, "/usr/bin/nssuser")
    for path in ("/etc/nsswitch.conf", "/etc/passwd", f"{D}/libnss_mymod.so.2", f"{D}/libnssdep.so"):
        assert path in keep, path
    assert "NSS module for 'passwd: files mymod'" in keep.reasons[f"{D}/libnss_mymod.so.2"].text
    assert "libnss_files.so.2" not in str(keep.reasons)  # built into libc since glibc 2.34
    mapped = root.run_maps("/usr/bin/nssuser", "nosuchuser")
    assert any(p.endswith("libnss_mymod.so.2") for p in mapped)
    assert reals(fs, mapped) <= set(keep.reasons)


def test_iconv_keeps_gconv_configuration_and_modules(glibc_root):
    root, fs = glibc_root
    keep, _tree, _ctx = tree_of(fs, "/usr/bin/iconvuser", named=True)
    for name in ("gconv-modules", "EUC-JP.so", "libJIS.so"):
        assert f"{D}/gconv/{name}" in keep, name
    mapped = root.run_maps("/usr/bin/iconvuser")
    assert any(p.endswith("EUC-JP.so") for p in mapped)
    assert reals(fs, mapped) <= set(keep.reasons)


def test_iconv_names_from_the_locale_and_the_input(glibc_root):
    _root, fs = glibc_root
    module = f"{D}/gconv/EUC-JP.so"
    keep, _t, _c = tree_of(fs, "/usr/bin/iconvlocale", named=True)
    assert f"{D}/gconv/gconv-modules" in keep and module not in keep  # no charset named, C locale
    keep, _t, _c = tree_of(fs, "/usr/bin/iconvlocale", {"LANG": "ja_JP.EUC-JP"}, named=True)
    assert "LANG=ja_JP.EUC-JP in the image Env" in keep.reasons[module].text
    keep, _t, _c = tree_of(fs, "/usr/bin/iconv", named=True)
    assert "takes gconv modules from its input" in keep.reasons[module].text


def test_pthread_cancel_keeps_libgcc_s(glibc_root):
    root, fs = glibc_root
    keep, _tree, _ctx = tree_of(fs, "/usr/bin/cancel")
    assert "pthread_cancel" in keep.reasons[f"{D}/libgcc_s.so.1"].text
    mapped = root.run_maps("/usr/bin/cancel")
    assert any(p.endswith("libgcc_s.so.1") for p in mapped)
    assert reals(fs, mapped) <= set(keep.reasons)


def test_plugin_of_a_well_known_library_by_the_name_its_caller_gives(glibc_root):
    _root, fs = glibc_root
    keep, _tree, _ctx = tree_of(fs, "/usr/bin/cryptouser", named=True)
    reason = keep.reasons[f"{D}/ossl-modules/legacy.so"]
    assert reason.text.startswith("OpenSSL provider legacy (named in /usr/bin/cryptouser; loaded by")
    assert keep.rules[f"{D}/ossl-modules/legacy.so"] == "openssl-providers"
    assert f"{D}/ossl-modules/fips.so" not in keep


def test_static_pie_needs_nothing(glibc_root):
    root, fs = glibc_root
    keep, _tracer, ctx = trace(fs, ["/usr/bin/hello-static-pie"])
    assert set(keep.reasons) == {"/usr/bin/hello-static-pie"}
    assert "static-pie" in ctx.notes["/usr/bin/hello-static-pie"]
    assert root.ld_list("/usr/bin/hello-static-pie") == set()
    assert not ctx.warnings


def test_static_glibc_program_keeps_nss_configuration(glibc_root):
    root, fs = glibc_root
    keep, _tracer, ctx = trace(fs, ["/usr/bin/nss-static"])
    assert {"/etc/nsswitch.conf", "/etc/passwd", "/etc/group"} <= set(keep.reasons)
    assert not any("ld-linux" in p or p.endswith(".so.6") for p in keep.reasons)
    note = ctx.notes["/usr/bin/nss-static"]
    assert note.startswith("static 64-bit x86_64 executable") and "NSS modules" in note
    assert root.ld_list("/usr/bin/nss-static") == set()


def test_ld_preload_from_the_image_env(glibc_root):
    root, fs = glibc_root
    env = {"LD_PRELOAD": "libplugdep.so"}
    keep, tree, _ctx = tree_of(fs, "/usr/bin/rp", env)
    assert f"{LD}/libplugdep.so" in loaded(tree)
    assert keep.reasons[f"{D}/libplugdep.so"].text.startswith("preloaded libplugdep.so (LD_PRELOAD")
    assert loaded(tree) == root.ld_list("/usr/bin/rp", env)


# -- musl -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def musl_root(tmp_path_factory):
    need_tool("musl-gcc")
    work = tmp_path_factory.mktemp("muslroot")
    root = GlibcRoot.__new__(GlibcRoot)
    root.root = work / "root"
    for d in ("lib", "usr/bin", "etc", "opt"):
        root.path(d).mkdir(parents=True, exist_ok=True)
    shutil.copy2("/usr/lib/x86_64-linux-musl/libc.so", root.path(MUSL_INTERP))
    root.path("/etc/ld-musl-x86_64.path").write_text("/usr/local/musl/lib\n/opt/musl-extra\n")
    cc = {"cc": "musl-gcc"}
    root.compile("leaf.c", "/opt/mu2/libleaf.so", "-DLEAF=12", shared=True, **cc)
    root.compile("leaf.c", "/usr/local/musl/lib/libleaf.so", "-DLEAF=13", shared=True, **cc)
    root.compile("mid.c", "/opt/mu/libmid.so", "-lleaf", shared=True, libdirs=["/opt/mu2"], **cc)
    root.compile("use_mid.c", "/usr/bin/mprog", "-lmid", "-Wl,--enable-new-dtags,-rpath,/opt/mu:/opt/mu2",
                 libdirs=["/opt/mu", "/opt/mu2"], **cc)
    root.compile("leaf.c", "/opt/musl-extra/libpf.so", "-Dleaf=pf", shared=True, **cc)
    root.compile("int pf(void); int main(void){return pf()==0;}\n", "/usr/bin/mprog2", "-lpf",
                 libdirs=["/opt/musl-extra"], **cc)
    return root, rootfs_from_dir(root.root, work)


def test_musl_inherits_runpath_and_reads_its_path_file(musl_root):
    root, fs = musl_root
    _keep, tree, ctx = tree_of(fs, "/usr/bin/mprog")
    # libleaf.so through mprog's RUNPATH, inherited by libmid.so (musl), before the path file's copy
    assert loaded(tree) == {MUSL_INTERP, "/opt/mu/libmid.so", "/opt/mu2/libleaf.so"}
    assert "libc.so" not in str([i.path for i in tree.items])  # libc.so is the loader itself
    oracle = root.ld_list("/usr/bin/mprog", interp=MUSL_INTERP)
    assert loaded(tree) == oracle
    keep2, tree2, _c = tree_of(fs, "/usr/bin/mprog2")
    assert "/opt/musl-extra/libpf.so" in loaded(tree2)
    assert "/etc/ld-musl-x86_64.path" in keep2
    assert loaded(tree2) == root.ld_list("/usr/bin/mprog2", interp=MUSL_INTERP)
    assert not ctx.warnings


# -- ld.so.conf when the cache is missing, and the tracer inside the closure ----------------------

def test_ld_so_conf_dirs_are_kept_when_the_cache_is_absent(tmp_path):
    need_tool("gcc")
    root = GlibcRoot(tmp_path / "root")
    leaf(root, "/usr/local/lib/libconf.so", 14, "conf")
    root.compile("int conf(void); int main(void){return conf()==0;}\n", "/usr/bin/confuser", "-lconf",
                 libdirs=["/usr/local/lib"])
    fs = rootfs_from_dir(root.root, tmp_path)  # no ldconfig: no /etc/ld.so.cache
    keep, tree, ctx = tree_of(fs, "/usr/bin/confuser")
    # ld.so itself does not find it (the loader never reads ld.so.conf) ...
    assert "/usr/local/lib/libconf.so" not in loaded(tree)
    assert any("DT_NEEDED libconf.so" in w.message for w in ctx.warnings)
    proc = root.run([GLIBC_INTERP, "--list", "/usr/bin/confuser"])
    assert "libconf.so: cannot open shared object file" in proc.stderr
    # ... but once ldconfig runs it does: kept, with that reason
    item = next(i for i in tree.items if i.path == "/usr/local/lib/libconf.so")
    assert item.category == "ldconf" and "no /etc/ld.so.cache" in item.reason
    assert "/usr/local/lib/libconf.so" in keep
    root.ldconfig()
    assert reals(fs, root.ld_list("/usr/bin/confuser")) <= set(keep.reasons)


def test_libraries_placed_by_a_tree_are_not_resolved_again(glibc_root):
    _root, fs = glibc_root
    keep, tracer, ctx = trace(fs, ["/usr/bin/rp", "/usr/bin/rn"])
    # libmid.so was placed by rp's tree (leaf through RPATH) and by rn's (leaf through the cache):
    # both copies are kept, each with the reason of the chain that loads it
    assert "/opt/rpath/libleaf.so" in keep and f"{D}/libleaf.so" in keep
    assert "/opt/mid/libmid.so" not in tracer.trees  # never resolved standalone
    entry = fs.get("/opt/mid/libmid.so")
    assert list(tracer.needs("/opt/mid/libmid.so", entry, ctx)) == []


def test_a_shared_object_reached_otherwise_is_the_root_of_its_own_tree(glibc_root):
    root, fs = glibc_root
    keep, tracer, ctx = trace(fs, ["/opt/mid/libmid.so"])
    tree = tracer.trees["/opt/mid/libmid.so"]
    assert loaded(tree) == root.ld_list("/opt/mid/libmid.so")
    assert f"{D}/libleaf.so" in keep
    assert "shared object" in tracer.describe("/opt/mid/libmid.so", ctx)


def test_non_elf_and_broken_elf_files(glibc_root, tmp_path):
    root, fs = glibc_root
    keep, _tracer, ctx = trace(fs, ["/etc/nsswitch.conf"])
    assert set(keep.reasons) == {"/etc/nsswitch.conf"} and not ctx.warnings
    broken = tmp_path / "broken"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin/trunc").write_bytes((root.path("/usr/bin/rp")).read_bytes()[:80])
    fs2 = rootfs_from_dir(broken, tmp_path)
    keep, _tracer, ctx = trace(fs2, ["/bin/trunc"])
    assert set(keep.reasons) == {"/bin/trunc"}
    assert any("could not use" in w.message for w in ctx.warnings)


def test_compared_with_lddtree(glibc_root, capsys):
    """Where pax-utils' lddtree (the closest static peer) and the real loader disagree, the tracer
    sides with the loader. lddtree's misses are printed, not asserted (they are its business)."""
    import sys

    lddtree = need_tool("lddtree")
    root, fs = glibc_root
    programs = {"/usr/bin/rp": root.ld_list, "/usr/bin/rn": root.ld_list, "/usr/local/bin/tool": root.ld_trace,
                "/usr/bin/nd2": root.ld_list, "/usr/bin/shadow": root.ld_list, "/usr/bin/dst": root.ld_list,
                "/usr/bin/hw": root.ld_list}
    lddtree_misses = {}
    for program, oracle in programs.items():
        loader = reals(fs, oracle(program))
        keep, _t, _c = trace(fs, [program])
        assert loader <= set(keep.reasons), program
        out = subprocess.run([sys.executable, lddtree, "-l", "-R", str(root.root), program],
                             capture_output=True, text=True).stdout
        theirs = reals(fs, [line[len(str(root.root)):] for line in out.splitlines()
                            if line.startswith(str(root.root))])
        if loader - theirs:
            lddtree_misses[program] = sorted(loader - theirs)
    with capsys.disabled():
        print(f"\nlddtree misses what ld.so loads for {len(lddtree_misses)}/{len(programs)} programs: {lddtree_misses}")
