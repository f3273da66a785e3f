"""Helpers for the ELF tracer tests: root filesystems from directories and images, fixture
programs compiled with the host's gcc / musl-gcc, and the real loaders as oracles.

    fs = rootfs_from_dir(root_dir, tmp_path)            # tar the directory into one layer
    fs = rootfs_from_image(docker_client, tag, tmp_path)  # `docker export` of a container
    root = GlibcRoot(tmp_path / "root")                 # merged-/usr Debian layout + host libc
    root.compile("prog.c", "/usr/bin/prog", "-Wl,-rpath,/opt/lib", libs=["-lfoo"])
    root.ldconfig()                                     # /etc/ld.so.cache for that root
    root.ld_list("/usr/bin/prog", env)                  # the real ld.so --list, in a chroot
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from slimmer.image.blob import Blob
from slimmer.rootfs.fs import RootFS
from slimmer.rootfs.merge import merge_layers
from slimmer.trace.closure import KeepSet, Need, TraceContext, Tracer, close
from slimmer.trace.elf import ElfTracer
from slimmer.trace.named import NamedDataTracer

import requires
from requires import program as need_tool  # the ELF tests' name for it

HERE = Path(__file__).resolve().parent
FIXTURE_SOURCES = HERE / "elf_fixtures"
HOST_TRIPLET = "x86_64-linux-gnu"
HOST_LIBDIR = Path(f"/usr/lib/{HOST_TRIPLET}")
GLIBC_INTERP = "/lib64/ld-linux-x86-64.so.2"
MUSL_INTERP = "/lib/ld-musl-x86_64.so.1"


# -- root filesystems ----------------------------------------------------------------------

def rootfs_from_tar(path: Path) -> RootFS:
    return merge_layers([Blob(path, 0, path.stat().st_size)]).rootfs


def rootfs_from_dir(root: Path, work: Path) -> RootFS:
    """The directory as a one-layer image (symlinks kept as symlinks)."""
    layer = work / f"{root.name}.layer.tar"
    with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                full = Path(dirpath, name)
                tar.add(full, arcname=str(full.relative_to(root)), recursive=False)
    return rootfs_from_tar(layer)


def export_image(client, tag: str, dest: Path) -> Path:
    """`docker export` of a container created (not started) from the image."""
    container = client.containers.create(tag, entrypoint=["/bin/true"], command=[])
    try:
        with open(dest, "wb") as f:
            for chunk in container.export():
                f.write(chunk)
    finally:
        container.remove(force=True)
    return dest


def image_env(client, tag: str) -> dict[str, str]:
    env = client.images.get(tag).attrs["Config"].get("Env") or []
    return dict(item.split("=", 1) for item in env if "=" in item)


def rootfs_from_image(client, tag: str, work: Path) -> RootFS:
    safe = re.sub(r"[^\w.-]", "_", tag)
    return rootfs_from_tar(export_image(client, tag, work / f"{safe}.export.tar"))


# -- tracing ---------------------------------------------------------------------------------

def trace(fs: RootFS, roots: Iterable[str], env: Mapping[str, str] | None = None,
          tracer: ElfTracer | None = None, named: bool = False, **kwargs) -> tuple[KeepSet, ElfTracer, TraceContext]:
    """The closure of `roots` under the ELF tracer (and, with `named`, the data chosen by name
    that the objects load: gconv modules, plugins)."""
    tracer = tracer or ElfTracer(**kwargs)
    ctx = TraceContext(fs, dict(env or {}))
    tracers: list[Tracer] = [tracer, NamedDataTracer(tracer)] if named else [tracer]
    keep = close([Need(r, "root") for r in roots], tracers, ctx)
    return keep, tracer, ctx


def real(fs: RootFS, path: str) -> str:
    return fs.resolve(path).path


# -- fixture roots ---------------------------------------------------------------------------


class GlibcRoot:
    """A tiny Debian-like root: merged /usr, the host's own glibc loader and libc copied in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        for d in ("usr/bin", f"usr/lib/{HOST_TRIPLET}", "usr/lib64", "usr/local/lib", "etc/ld.so.conf.d", "opt"):
            (root / d).mkdir(parents=True, exist_ok=True)
        for link, target in (("bin", "usr/bin"), ("lib", "usr/lib"), ("lib64", "usr/lib64"), ("sbin", "usr/bin")):
            if not (root / link).is_symlink():
                os.symlink(target, root / link)
        for name in ("ld-linux-x86-64.so.2", "libc.so.6"):
            shutil.copy2(HOST_LIBDIR / name, root / f"usr/lib/{HOST_TRIPLET}" / name)
        os.symlink(f"/lib/{HOST_TRIPLET}/ld-linux-x86-64.so.2", root / "usr/lib64/ld-linux-x86-64.so.2")
        (root / "etc/ld.so.conf").write_text("include /etc/ld.so.conf.d/*.conf\n")
        (root / "etc/ld.so.conf.d/libc.conf").write_text("/usr/local/lib\n")
        (root / f"etc/ld.so.conf.d/{HOST_TRIPLET}.conf").write_text(
            f"/usr/local/lib/{HOST_TRIPLET}\n/lib/{HOST_TRIPLET}\n/usr/lib/{HOST_TRIPLET}\n")

    def path(self, inside: str) -> Path:
        return self.root / inside.lstrip("/")

    def compile(self, source: str, dest: str, *flags: str, shared: bool = False, cc: str = "gcc",
                libdirs: Iterable[str] = ()) -> str:
        """Compile a source of tests/elf_fixtures (or inline C text) to `dest` inside the root.
        `libdirs` are directories inside the root given to the linker as -L."""
        out = self.path(dest)
        out.parent.mkdir(parents=True, exist_ok=True)
        src = FIXTURE_SOURCES / source
        if not src.exists():
            src = out.with_suffix(".c")
            src.write_text(source)
        cmd = [need_tool(cc), "-O1", "-o", str(out), str(src)]
        if shared:
            cmd[1:1] = ["-shared", "-fPIC"]
        for d in libdirs:
            cmd += [f"-L{self.path(d)}", f"-Wl,-rpath-link,{self.path(d)}"]
        cmd += list(flags)
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
        if not src.is_relative_to(FIXTURE_SOURCES):
            src.unlink()
        return dest

    def symlink(self, link: str, target: str) -> None:
        p = self.path(link)
        p.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, p)

    def copy_host_lib(self, name: str, dest_dir: str = f"/usr/lib/{HOST_TRIPLET}") -> str:
        src = (HOST_LIBDIR / name).resolve()
        dest = self.path(dest_dir) / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        return f"{dest_dir}/{name}"

    def ldconfig(self) -> None:
        subprocess.run(["ldconfig", "-r", str(self.root)], check=True, capture_output=True)

    def run(self, argv: list[str], env: Mapping[str, str] | None = None, proc_fs: bool = False):
        """Run a program of the root chrooted into it (the chroot is done in the child before
        exec, so `env` reaches only that program). With proc_fs, /proc is mounted in the root
        for the run: glibc finds the executable's $ORIGIN through /proc/self/exe."""
        requires.root("chroot")
        mounted = None
        if proc_fs:
            mounted = self.path("/proc")
            mounted.mkdir(exist_ok=True)
            if subprocess.run(["mount", "-t", "proc", "proc", str(mounted)], capture_output=True).returncode != 0:
                requires.unavailable("cannot mount /proc in the fixture root")
        try:
            return subprocess.run(argv, env={"PATH": "/usr/bin:/bin", **(env or {})}, capture_output=True,
                                  text=True, preexec_fn=lambda: (os.chroot(self.root), os.chdir("/")))
        finally:
            if mounted is not None:
                subprocess.run(["umount", str(mounted)], capture_output=True)

    def ld_list(self, program: str, env: Mapping[str, str] | None = None, interp: str = GLIBC_INTERP) -> set[str]:
        """Paths the real loader maps for `program`: `ld.so --list` in a chroot of the root."""
        proc = self.run([interp, "--list", program], env)
        return parse_ld_list(proc.stdout + proc.stderr)

    def run_maps(self, program: str, *args: str, env: Mapping[str, str] | None = None) -> set[str]:
        """Run `program` in a chroot of the root; the paths of every object it had mapped at
        exit (printed by show_maps.c, linked into the program), dlopened ones included."""
        proc = self.run([program, *args], env)
        assert proc.returncode == 0, f"{program} failed in the chroot: {proc.stdout}{proc.stderr}"
        return {line[4:] for line in proc.stdout.splitlines() if line.startswith("MAP /")}

    def ld_trace(self, program: str, env: Mapping[str, str] | None = None) -> set[str]:
        """The kernel starts `program` (so $ORIGIN is its real directory, read from
        /proc/self/exe) with LD_TRACE_LOADED_OBJECTS=1: what ld.so loads, printed instead."""
        proc = self.run([program], {"LD_TRACE_LOADED_OBJECTS": "1", **(env or {})}, proc_fs=True)
        return parse_ld_list(proc.stdout + proc.stderr)


SHOW_MAPS = str(FIXTURE_SOURCES / "show_maps.c")


def parse_ld_list(text: str) -> set[str]:
    """Paths in `ld.so --list` / `ldd` output (vdso and 'not found' lines left out)."""
    paths: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"^(\S+) => (\S+) \(0x[0-9a-f]+\)$", line)
        if m:
            paths.add(m.group(2))
            continue
        m = re.match(r"^(/\S+) \(0x[0-9a-f]+\)$", line)
        if m:
            paths.add(m.group(1))
    return paths


# -- the image's own loader as an oracle -------------------------------------------------------

ORACLE_SCRIPT = r"""
while IFS= read -r f; do
  printf '=== %s\n' "$f"
  "$INTERP" --list "$f" 2>&1
  printf '=== rc %s\n' "$?"
done < /tmp/elf-oracle-files
"""


def dynamic_elf_files(fs: RootFS, tracer: ElfTracer, ctx: TraceContext) -> list[str]:
    """Every regular file of the image that the loader can load: dynamic ELF executables and
    shared objects (static ones and .o/.ko files left out)."""
    from slimmer.rootfs.filekind import FileKind
    from slimmer.trace.elf.reader import ET_DYN, ET_EXEC, ElfError

    loader = tracer.loader(ctx)
    found = []
    for entry in fs.entries():
        if not entry.is_file or ctx.kind(entry) is not FileKind.ELF:
            continue
        try:
            info = loader.info(entry)
        except ElfError:
            continue
        if info.type in (ET_EXEC, ET_DYN) and info.dynamic and not info.is_static_pie:
            found.append(entry.path)
    return found


def run_loader_oracle(client, tag: str, files: list[str], interp: str = GLIBC_INTERP) -> dict[str, tuple[int, set[str]]]:
    """`INTERP --list FILE` for every file, all in ONE container (no network, as root):
    file -> (exit status, paths the loader printed)."""
    import io

    listing = ("\n".join(files) + "\n").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("elf-oracle-files")
        info.size = len(listing)
        tar.addfile(info, io.BytesIO(listing))
    container = client.containers.create(tag, entrypoint=["/bin/sh", "-c", ORACLE_SCRIPT], command=[],
                                         user="root", network_disabled=True, environment={"INTERP": interp})
    try:
        container.put_archive("/tmp", buf.getvalue())
        container.start()
        status = container.wait(timeout=600)
        output = container.logs(stdout=True, stderr=True).decode("utf-8", "replace")
    finally:
        container.remove(force=True)
    assert status.get("StatusCode") == 0, output[-2000:]
    results: dict[str, tuple[int, set[str]]] = {}
    current: str | None = None
    lines: list[str] = []
    for line in output.splitlines():
        if line.startswith("=== rc ") and current is not None:
            results[current] = (int(line[7:]), parse_ld_list("\n".join(lines)))
            current, lines = None, []
        elif line.startswith("=== "):
            current, lines = line[4:], []
        else:
            lines.append(line)
    return results
