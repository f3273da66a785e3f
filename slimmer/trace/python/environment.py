"""One Python environment: an interpreter with the sys.path one command line gives it, and the
lookups made in it (modules, distributions), shared by every module traced in it."""

from __future__ import annotations

from dataclasses import dataclass, field

from slimmer.rootfs.fs import RootFS
from slimmer.trace.elf.ldcache import LD_SO_CACHE, LdCache, LdCacheError, parse_ldcache
from slimmer.trace.python.finder import ModuleFinder
from slimmer.trace.python.interpreter import Interpreter
from slimmer.trace.python.metadata import DistributionIndex
from slimmer.trace.python.syspath import SysPath

# Where zoneinfo looks when PYTHONTZPATH is unset (sysconfig's TZPATH of CPython builds).
DEFAULT_TZPATH = ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo", "/etc/zoneinfo")


@dataclass(eq=False)
class PythonEnv:
    fs: RootFS
    interpreter: Interpreter
    sys_path: SysPath
    optimize: int  # -O level: which `.opt-N.pyc` caches are read
    env: dict[str, str]
    finder: ModuleFinder = field(init=False)
    distributions: DistributionIndex = field(init=False)
    _ld_cache: LdCache | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.finder = ModuleFinder(self.fs, self.sys_path.entries, self.interpreter.extension_suffixes)
        self.distributions = DistributionIndex(self.fs, self.sys_path.entries)

    def names(self, path: str | None, module: str) -> dict[str, str]:
        """Values a module's code sees, for evaluating its expressions."""
        package = module if path and path.rsplit("/", 1)[-1].startswith("__init__.") else module.rpartition(".")[0]
        values = {"sys.executable": self.interpreter.executable, "sys.prefix": self.interpreter.prefix,
                  "sys.base_prefix": self.interpreter.base_prefix, "os.sep": "/", "os.curdir": ".",
                  "__name__": module, "__package__": package}
        if path:
            values["__file__"] = path
        return values

    def cache_file(self, source: str) -> str:
        """`__pycache__/NAME.cpython-311[.opt-N].pyc` beside a source file."""
        folder, _, name = source.rpartition("/")
        optimization = f".opt-{self.optimize}" if self.optimize else ""
        return f"{folder}/__pycache__/{name[:-3]}.{self.interpreter.cache_tag}{optimization}.pyc"

    def ld_cache(self) -> LdCache | None:
        """The image's /etc/ld.so.cache (what `ldconfig -p` prints), for ctypes."""
        if self._ld_cache is None:
            entry = self.fs.lookup(LD_SO_CACHE)
            if entry is None or not entry.is_file:
                return None
            try:
                self._ld_cache = parse_ldcache(self.fs.read(entry))
            except (LdCacheError, ValueError):
                return None
        return self._ld_cache

    @property
    def tzpath(self) -> tuple[str, ...]:
        value = self.env.get("PYTHONTZPATH")
        return tuple(p for p in value.split(":") if p.startswith("/")) if value else DEFAULT_TZPATH
