"""Which CPython an executable is, and where its prefixes are, as its `getpath` works them out.

Rules (CPython 3.11's Modules/getpath.py): a `pyvenv.cfg` beside the executable as invoked, or
one directory up, makes a virtual environment whose `home` names the base interpreter's
directory; otherwise the executable's symlinks are resolved. From that directory upwards the
first one holding `lib/pythonX.Y/os.py` is the prefix, and the first holding
`lib/pythonX.Y/lib-dynload` the exec prefix. `PYTHONHOME` overrides both.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from slimmer.rootfs.fs import RootFS, SymlinkLoopError

_VERSIONED_NAME = re.compile(r"^python(\d+)\.(\d+)$")
_VERSION_DIR = re.compile(r"^python(\d+)\.(\d+)$")
_EXTENSION_TAG = re.compile(r"\.cpython-\d+[a-z]*-([^.]+)\.so$")
LIBDIRS = ("lib", "lib64")  # sys.platlibdir is "lib" on Debian and upstream builds, "lib64" on Fedora


@dataclass(frozen=True)
class Venv:
    """A virtual environment: the folder holding pyvenv.cfg and what that file says."""

    prefix: str
    config: str  # path of pyvenv.cfg
    home: str | None
    system_site_packages: bool


@dataclass(frozen=True)
class Interpreter:
    """A CPython installation inside the image, as one executable sees it."""

    executable: str  # sys.executable: as invoked, symlinks not resolved
    real: str  # the ELF file really run
    version: tuple[int, int]
    base_prefix: str
    base_exec_prefix: str
    libdir: str  # "lib" or "lib64"
    venv: Venv | None
    extension_suffixes: tuple[str, ...]  # in the order the import system tries them

    @property
    def prefix(self) -> str:
        return self.venv.prefix if self.venv else self.base_prefix

    @property
    def version_dir(self) -> str:
        return "python{}.{}".format(*self.version)

    @property
    def stdlib(self) -> str:
        return posixpath.join(self.base_prefix, self.libdir, self.version_dir)

    @property
    def dynload(self) -> str:
        return posixpath.join(self.base_exec_prefix, self.libdir, self.version_dir, "lib-dynload")

    @property
    def stdlib_zip(self) -> str:
        return posixpath.join(self.base_prefix, self.libdir, "python{}{}.zip".format(*self.version))

    @property
    def cache_tag(self) -> str:
        return "cpython-{}{}".format(*self.version)

    def binaries(self, fs: RootFS) -> list[str]:
        """The executable and its libpython: their strings hold the table of built-in modules."""
        libdir = posixpath.join(self.base_prefix, self.libdir)
        prefix = "libpython{}.{}".format(*self.version)
        return [self.real] + [posixpath.join(libdir, name) for name in fs.listdir(libdir) if name.startswith(prefix)]

    def in_stdlib(self, path: str) -> bool:
        """Part of the interpreter's own library (the stdlib or lib-dynload), not of a site dir."""
        top = self.stdlib + "/"
        return path.startswith(top) and not path.startswith(top + "site-packages/") \
            and not path.startswith(top + "dist-packages/")


def discover(fs: RootFS, executable: str, env: dict[str, str] | None = None) -> Interpreter | None:
    """The interpreter `executable` (an absolute path, as invoked) is; None if it is no CPython
    whose library can be found in the image."""
    env = env or {}
    try:
        real = fs.resolve(executable).path
    except SymlinkLoopError:
        return None
    venv = _find_venv(fs, executable)
    start = venv.home if venv and venv.home else posixpath.dirname(real)
    version = _version_of(fs, real, start)
    if version is None:
        return None
    home = env.get("PYTHONHOME", "")
    if home:
        prefix, _, exec_prefix = home.partition(":")
        exec_prefix = exec_prefix or prefix
        libdir = next((d for d in LIBDIRS if fs.lookup(posixpath.join(prefix, d)) is not None), "lib")
    else:
        found = _landmark_prefix(fs, start, version)
        if found is None:
            return None
        prefix, libdir = found
        exec_prefix = _dynload_prefix(fs, start, version, libdir) or prefix
    dynload = posixpath.join(exec_prefix, libdir, "python{}.{}".format(*version), "lib-dynload")
    return Interpreter(executable=executable, real=real, version=version, base_prefix=prefix,
                       base_exec_prefix=exec_prefix, libdir=libdir, venv=venv,
                       extension_suffixes=_extension_suffixes(fs, dynload, version))


def _find_venv(fs: RootFS, executable: str) -> Venv | None:
    here = posixpath.dirname(executable)
    for folder in (here, posixpath.dirname(here)):
        config = posixpath.join(folder, "pyvenv.cfg")
        entry = fs.lookup(config)
        if entry is None or not entry.is_file:
            continue
        values = {}
        for line in fs.read(entry).decode("utf-8", "replace").splitlines():
            key, equals, value = line.partition("=")
            if equals:
                values[key.strip().lower()] = value.strip()
        return Venv(prefix=folder, config=config, home=values.get("home"),
                    system_site_packages=values.get("include-system-site-packages", "").lower() == "true")
    return None


def _version_of(fs: RootFS, real: str, start: str) -> tuple[int, int] | None:
    """From the executable's real name (python3.11), else the only `lib/pythonX.Y` with an os.py
    above the executable."""
    match = _VERSIONED_NAME.match(posixpath.basename(real))
    if match:
        return int(match.group(1)), int(match.group(2))
    versions = set()
    for directory in _ancestors(start):
        for libdir in LIBDIRS:
            for name in fs.listdir(posixpath.join(directory, libdir)):
                found = _VERSION_DIR.match(name)
                if found and fs.lookup(posixpath.join(directory, libdir, name, "os.py")) is not None:
                    versions.add((int(found.group(1)), int(found.group(2))))
        if versions:
            return versions.pop() if len(versions) == 1 else None
    return None


def _ancestors(directory: str) -> list[str]:
    found = [directory]
    while directory != "/":
        directory = posixpath.dirname(directory)
        found.append(directory)
    return found


def _landmark_prefix(fs: RootFS, start: str, version: tuple[int, int]) -> tuple[str, str] | None:
    name = "python{}.{}".format(*version)
    for directory in _ancestors(start):
        for libdir in LIBDIRS:
            stdlib = posixpath.join(directory, libdir, name)
            if any(fs.lookup(posixpath.join(stdlib, landmark)) is not None for landmark in ("os.py", "os.pyc")):
                return directory, libdir
    return None


def _dynload_prefix(fs: RootFS, start: str, version: tuple[int, int], libdir: str) -> str | None:
    name = "python{}.{}".format(*version)
    for directory in _ancestors(start):
        found = fs.lookup(posixpath.join(directory, libdir, name, "lib-dynload"))
        if found is not None and found.is_dir:
            return directory
    return None


def _extension_suffixes(fs: RootFS, dynload: str, version: tuple[int, int]) -> tuple[str, ...]:
    """`.cpython-311-x86_64-linux-gnu.so`, `.abi3.so`, `.so`: the platform tag is read from the
    names of the interpreter's own extension modules."""
    tags = {m.group(1) for name in fs.listdir(dynload) if (m := _EXTENSION_TAG.search(name))}
    versioned = tuple(f".cpython-{version[0]}{version[1]}-{tag}.so" for tag in sorted(tags))
    return versioned + (".abi3.so", ".so")
