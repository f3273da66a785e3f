"""`sys.path` as the image's interpreter builds it, and what `site` runs on the way.

Order (CPython 3.11: Modules/getpath.py, then Lib/site.py): the script's directory (or the
working directory for `-c`/`-m`; nothing with `-P`/`-I`), `PYTHONPATH`, the stdlib zip, the
stdlib, lib-dynload; then, unless `-S`, the user site (when enabled and present) and the site
directories, each followed by the paths its `.pth` files add. Which site directories exist is
the image's own `site.py`'s business: Debian's patched one lists `dist-packages` folders, the
upstream one `site-packages`; the layout is read from that file.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from slimmer.rootfs.fs import RootFS
from slimmer.trace.python.interpreter import Interpreter
from slimmer.trace.python.invocation import Invocation


@dataclass(frozen=True)
class PthImport:
    """An `import` line of a .pth file: site executes it at start-up."""

    pth: str
    line: int
    code: str


@dataclass
class SysPath:
    entries: list[str] = field(default_factory=list)
    pth_files: list[str] = field(default_factory=list)
    pth_imports: list[PthImport] = field(default_factory=list)

    def add(self, path: str) -> None:
        if path not in self.entries:
            self.entries.append(path)


def derive_sys_path(fs: RootFS, interp: Interpreter, invocation: Invocation, env: dict[str, str],
                    main_dir: str | None, cwd: str, home: str | None) -> SysPath:
    """`main_dir` is the script's directory (symlinks resolved), None for `-c`, `-m` and
    interactive runs, whose first entry is the working directory."""
    result = SysPath()
    if not invocation.safe_path and not (not invocation.ignore_environment and env.get("PYTHONSAFEPATH")):
        result.add(main_dir if main_dir is not None else cwd)
    if not invocation.ignore_environment:
        for item in env.get("PYTHONPATH", "").split(":"):
            if item:
                result.add(posixpath.normpath(posixpath.join(cwd, item)))
    result.add(interp.stdlib_zip)  # always listed, whether or not it exists
    result.add(interp.stdlib)
    result.add(interp.dynload)
    if not invocation.no_site:
        for site_dir in _site_dirs(fs, interp, invocation, env, home):
            entry = fs.lookup(site_dir)
            if entry is not None and entry.is_dir:
                _add_site_dir(fs, result, site_dir)
    return result


def _site_dirs(fs: RootFS, interp: Interpreter, invocation: Invocation, env: dict[str, str],
               home: str | None) -> list[str]:
    """User site first (site.main adds it before the global ones), then the global site dirs."""
    venv = interp.venv
    found: list[str] = []
    user_site_enabled = not invocation.no_user_site and not (venv and not venv.system_site_packages) \
        and not (not invocation.ignore_environment and env.get("PYTHONNOUSERSITE"))
    if user_site_enabled:
        base = (None if invocation.ignore_environment else env.get("PYTHONUSERBASE")) or \
            (posixpath.join(home, ".local") if home else None)
        if base:
            found.append(posixpath.join(base, "lib", interp.version_dir, "site-packages"))
    prefixes = [venv.prefix] if venv else []
    if not venv or venv.system_site_packages:
        prefixes += [interp.base_prefix, interp.base_exec_prefix]
    debian = _debian_layout(fs, interp)
    for prefix in dict.fromkeys(prefixes):
        found += _global_site_dirs(prefix, interp, debian, venv is not None)
    return list(dict.fromkeys(found))


def _global_site_dirs(prefix: str, interp: Interpreter, debian: bool, in_a_venv: bool) -> list[str]:
    libdirs = list(dict.fromkeys([interp.libdir, "lib"]))
    version_dir = interp.version_dir
    if not debian:
        return [posixpath.join(prefix, libdir, version_dir, "site-packages") for libdir in libdirs]
    found = [posixpath.join(prefix, "lib", version_dir, "site-packages")] if in_a_venv else []
    found.append(posixpath.join(prefix, "local/lib", version_dir, "dist-packages"))
    found.append(posixpath.join(prefix, "lib", "python3", "dist-packages"))
    found += [posixpath.join(prefix, libdir, version_dir, "dist-packages") for libdir in libdirs]
    return found


def _debian_layout(fs: RootFS, interp: Interpreter) -> bool:
    """Whether the image's site.py is Debian's (its getsitepackages lists dist-packages)."""
    entry = fs.lookup(posixpath.join(interp.stdlib, "site.py"))
    return entry is not None and entry.is_file and b'"dist-packages"' in fs.read(entry)


def _add_site_dir(fs: RootFS, result: SysPath, site_dir: str) -> None:
    """site.addsitedir: the folder, then each `*.pth` in name order: a line starting with
    `import` is run, any other non-comment line is a path added when it exists."""
    result.add(site_dir)
    for name in fs.listdir(site_dir):
        if not name.endswith(".pth") or name.startswith("."):
            continue
        pth = posixpath.join(site_dir, name)
        entry = fs.lookup(pth)
        if entry is None or not entry.is_file:
            continue
        result.pth_files.append(pth)
        for number, line in enumerate(fs.read(entry).decode("utf-8", "replace").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            if line.startswith(("import ", "import\t")):
                result.pth_imports.append(PthImport(pth, number, line))
                continue
            path = posixpath.normpath(posixpath.join(site_dir, line.rstrip()))
            if fs.lookup(path) is not None:
                result.add(path)
